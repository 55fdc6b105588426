//! Where the value of a wall-clock read goes: the reads, locals and private
//! attributes that only ever meet each other in differences and
//! comparisons (durations), and the first place each group escapes.
//!
//! A *clock value* is a read of `time.time()`, `int()`/`float()` of one, a
//! clock value plus or minus an amount, or a local or private attribute
//! every write of which is a clock value. Two clock values meet in a
//! difference (`a - b`), a comparison (`a < b`) or an assignment (`d = a`);
//! the values that meet form a group (union-find). A group escapes when one
//! of its values is used any other way: passed to a call, returned, stored
//! elsewhere, formatted, compared with something that is not a clock value.
//! Only a group that never escapes can move to `time.monotonic()` as a
//! whole: every duration it computes stays the same.

use std::collections::HashMap;

use tree_sitter::Node;

use crate::python::is_scope;
use crate::python::parse::KindFast;
use crate::transforms::Ctx;

/// What a group holds and whether it escapes.
pub(super) struct Group<'t> {
    /// The `time.time()` calls in it, in document order.
    pub reads: Vec<Node<'t>>,
    /// Differences and comparisons between its values: 0 means it never
    /// measures anything (a lone timestamp), which is no candidate.
    pub durations: usize,
    /// The first use that lets a value out, and why.
    pub escape: Option<(Node<'t>, String)>,
    /// How many clock values (reads, locals, attributes) it holds.
    pub members: usize,
    /// Its private attributes (`_last_time_called`).
    pub attrs: Vec<String>,
    /// The byte ranges of the classes those attributes belong to.
    pub classes: Vec<std::ops::Range<usize>>,
}

#[derive(Clone, PartialEq, Eq, Hash)]
enum Key {
    Read(usize),
    /// A local: the function's node id and the name.
    Local(usize, String),
    /// A private attribute of `self`: the class's node id and the name.
    Attr(usize, String),
}

/// The analysis of one unit (a top-level statement): its scopes' clock
/// locals and attributes, and the union-find over every clock value.
struct Flow<'c, 't> {
    ctx: &'c Ctx<'t>,
    unit: Node<'t>,
    locals: HashMap<usize, Vec<String>>,
    attrs: HashMap<usize, Vec<String>>,
    keys: HashMap<Key, usize>,
    parent: Vec<usize>,
    durations: Vec<usize>,
    escapes: Vec<Option<(Node<'t>, String)>>,
    reads: Vec<(usize, Node<'t>)>,
}

/// The groups of clock values in `unit` (a top-level statement).
pub(super) fn groups<'t>(ctx: &Ctx<'t>, unit: Node<'t>) -> Vec<Group<'t>> {
    let mut flow = Flow {
        ctx,
        unit,
        locals: HashMap::new(),
        attrs: HashMap::new(),
        keys: HashMap::new(),
        parent: Vec::new(),
        durations: Vec::new(),
        escapes: Vec::new(),
        reads: Vec::new(),
    };
    flow.find_clock_names();
    flow.follow_uses();
    flow.collect()
}

/// The functions whose value is the wall clock's, as `time.time()`'s:
/// eventlet's green `time` module re-exports the standard one (and so has
/// `monotonic` too).
const WALL_CLOCK_READS: [&str; 2] = ["time.time", "eventlet.green.time.time"];

/// Whether `call` reads the wall clock: `time.time()`, however imported.
pub(super) fn is_read(ctx: &Ctx<'_>, call: Node<'_>) -> bool {
    call.kind_fast() == "call"
        && call.child_by_field_name("arguments").is_some_and(|a| a.named_child_count() == 0)
        && call.child_by_field_name("function").is_some_and(|f| {
            // Resolving is the costly part: an attribute must be spelled
            // `....time`; a bare name may be an alias.
            let spelled = match f.kind_fast() {
                "attribute" => f.child_by_field_name("attribute").is_some_and(|a| ctx.text(a) == "time"),
                "identifier" => true,
                _ => false,
            };
            spelled && ctx.resolver().resolve(f).is_some_and(|p| WALL_CLOCK_READS.contains(&p.as_str()))
        })
}

impl Group<'_> {
    /// Whether the group measures time, or tries to: a difference or a
    /// comparison of its values, a timestamp kept in a name, or one that
    /// meets a value from elsewhere (a parameter, a file's mtime). Only
    /// such a group is a candidate; a lone `time.time()` logged or stored
    /// is a timestamp, and no concern of this transform.
    pub fn measures(&self) -> bool {
        self.durations > 0
            || self.members > 1
            || self.escape.as_ref().is_some_and(|(_, why)| why.starts_with("meets") || why.starts_with("compared"))
    }
}

impl<'c, 't> Flow<'c, 't> {
    fn key(&mut self, k: Key) -> usize {
        if let Some(&i) = self.keys.get(&k) {
            return i;
        }
        let i = self.parent.len();
        self.parent.push(i);
        self.durations.push(0);
        self.escapes.push(None);
        self.keys.insert(k, i);
        i
    }

    fn find(&mut self, mut i: usize) -> usize {
        while self.parent[i] != i {
            self.parent[i] = self.parent[self.parent[i]];
            i = self.parent[i];
        }
        i
    }

    fn union(&mut self, a: usize, b: usize) {
        let (ra, rb) = (self.find(a), self.find(b));
        if ra != rb {
            self.parent[rb] = ra;
            self.durations[ra] += self.durations[rb];
            if self.escapes[ra].is_none() {
                self.escapes[ra] = self.escapes[rb].take();
            }
        }
    }

    fn escape(&mut self, i: usize, at: Node<'t>, why: String) {
        let r = self.find(i);
        if self.escapes[r].is_none() {
            self.escapes[r] = Some((at, why));
        }
    }

    fn text(&self, n: Node<'_>) -> &'t str {
        self.ctx.text(n)
    }

    /// The function whose locals `n` reads (the innermost around it).
    fn function_of(&self, n: Node<'t>) -> Option<Node<'t>> {
        let mut cur = n.parent();
        while let Some(c) = cur {
            if c.kind_fast() == "function_definition" {
                return Some(c);
            }
            if c.kind_fast() == "class_definition" {
                return None;
            }
            cur = c.parent();
        }
        None
    }

    /// The class whose `self._x` attributes `n` reads: the class around the
    /// method around `n` (nested functions of the method included).
    fn class_of(&self, n: Node<'t>) -> Option<Node<'t>> {
        let mut cur = n.parent();
        while let Some(c) = cur {
            if c.kind_fast() == "class_definition" {
                return Some(c);
            }
            cur = c.parent();
        }
        None
    }

    /// `self._x` (a private attribute of the instance), as its name.
    fn private_attr(&self, n: Node<'_>) -> Option<&'t str> {
        if n.kind_fast() != "attribute" {
            return None;
        }
        let object = n.child_by_field_name("object")?;
        let name = self.text(n.child_by_field_name("attribute")?);
        let private = name.starts_with('_') && !(name.starts_with("__") && name.ends_with("__"));
        (object.kind_fast() == "identifier" && self.text(object) == "self" && private).then_some(name)
    }

    /// The clock values an expression is made of, if it is one.
    fn clock(&mut self, e: Node<'t>) -> Option<Vec<usize>> {
        match e.kind_fast() {
            "parenthesized_expression" => self.clock(e.named_child(0)?),
            "call" if is_read(self.ctx, e) => Some(vec![self.read_key(e)]),
            "call" => {
                let inner = wrapped(self.ctx, e)?;
                self.clock(inner)
            }
            "identifier" => {
                let f = self.function_of(e)?;
                let name = self.text(e);
                self.locals.get(&f.id()).is_some_and(|l| l.iter().any(|x| x == name)).then(|| {
                    let k = self.key(Key::Local(f.id(), name.to_owned()));
                    vec![k]
                })
            }
            "attribute" => {
                let name = self.private_attr(e)?;
                let class = self.class_of(e)?;
                self.attrs.get(&class.id()).is_some_and(|a| a.iter().any(|x| x == name)).then(|| {
                    let k = self.key(Key::Attr(class.id(), name.to_owned()));
                    vec![k]
                })
            }
            "binary_operator" => {
                let (l, op, r) = operands(e)?;
                let lc = self.clock(l);
                match (self.text(op), lc) {
                    ("+", None) => self.clock(r).filter(|_| !self.other_clock(l)),
                    ("+" | "-", Some(keys)) if self.clock(r).is_none() && !self.other_clock(r) => Some(keys),
                    _ => None,
                }
            }
            _ => None,
        }
    }

    fn read_key(&mut self, call: Node<'t>) -> usize {
        let k = self.key(Key::Read(call.id()));
        if !self.reads.iter().any(|(_, r)| r.id() == call.id()) {
            self.reads.push((k, call));
        }
        k
    }

    /// Whether an amount added to a clock value reads another clock (mixing
    /// two clocks makes the sum meaningless on either).
    fn other_clock(&self, e: Node<'_>) -> bool {
        const CLOCKS: [&str; 6] = ["monotonic", "perf_counter", "datetime", "mtime", "utcnow", "process_time"];
        let t = self.text(e);
        CLOCKS.iter().any(|c| t.contains(c))
    }

    /// The locals and private attributes written only with clock values
    /// (to a fixpoint: `deadline = start + timeout` after `start = time()`).
    fn find_clock_names(&mut self) {
        let mut assignments = Vec::new();
        self.ctx.walk(
            self.unit,
            |_| true,
            |n| {
                if n.kind_fast() == "assignment" {
                    assignments.push(n);
                }
            },
        );
        // How a read can be spelled here: `...time(` or a module-level
        // alias (`from time import time as clock`).
        let module = self.ctx.resolver().module();
        let spellings: Vec<String> = std::iter::once("time")
            .chain(WALL_CLOCK_READS.iter().flat_map(|p| module.module_aliases(p)))
            .map(str::to_owned)
            .collect();
        loop {
            let mut grew = false;
            for &a in &assignments {
                let (Some(left), Some(right)) = (a.child_by_field_name("left"), a.child_by_field_name("right")) else {
                    continue;
                };
                // Cheap first (a value with no clock in sight is none), then
                // the structural test (which climbs the tree for each name).
                let text = self.text(right);
                if !spellings.iter().any(|w| text.contains(w.as_str())) && !self.known_names().any(|n| text.contains(n))
                {
                    continue;
                }
                if self.clock(right).is_none() {
                    continue;
                }
                if left.kind_fast() == "identifier"
                    && let Some(f) = self.function_of(a)
                {
                    let names = self.locals.entry(f.id()).or_default();
                    let name = self.ctx.text(left);
                    if !names.iter().any(|x| x == name) {
                        names.push(name.to_owned());
                        grew = true;
                    }
                } else if let (Some(name), Some(class)) = (self.private_attr(left), self.class_of(a)) {
                    let names = self.attrs.entry(class.id()).or_default();
                    if !names.iter().any(|x| x == name) {
                        names.push(name.to_owned());
                        grew = true;
                    }
                }
            }
            if !grew {
                break;
            }
        }
    }

    /// Every clock local's and clock attribute's name.
    fn known_names(&self) -> impl Iterator<Item = &str> {
        self.locals.values().chain(self.attrs.values()).flatten().map(String::as_str)
    }

    /// Judges every use of every clock value in the unit.
    fn follow_uses(&mut self) {
        let names: std::collections::HashSet<&str> =
            self.locals.values().chain(self.attrs.values()).flatten().map(String::as_str).collect();
        let ctx = self.ctx;
        let mut nodes = Vec::new();
        // Only reads and the names of clock values can be clock values.
        ctx.walk(
            self.unit,
            |_| true,
            |n| {
                let keep = match n.kind_fast() {
                    "call" => n.child_by_field_name("function").is_some_and(|f| match f.kind_fast() {
                        "attribute" => f.child_by_field_name("attribute").is_some_and(|a| ctx.text(a) == "time"),
                        _ => f.kind_fast() == "identifier",
                    }),
                    "identifier" => names.contains(ctx.text(n)),
                    "attribute" => n.child_by_field_name("attribute").is_some_and(|a| names.contains(ctx.text(a))),
                    _ => false,
                };
                if keep {
                    nodes.push(n);
                }
            },
        );
        drop(names);
        for n in nodes {
            // A name bound in a nested scope is another variable: only the
            // scope's own identifiers count (a closure's use escapes below).
            let value = match n.kind_fast() {
                // The name part of `x.name`, and a keyword argument's name,
                // are no variables.
                "identifier" if is_field(n, "attribute", "attribute") || is_field(n, "keyword_argument", "name") => {
                    continue;
                }
                "call" if !is_read(self.ctx, n) => None,
                "attribute" if self.foreign_attr(n) => {
                    let name = self.text(n.child_by_field_name("attribute").expect("an attribute has a name"));
                    if let Some(class) = self.class_of(n) {
                        let k = self.key(Key::Attr(class.id(), name.to_owned()));
                        self.escape(k, n, format!("`{name}` is read from another object than `self`"));
                    }
                    continue;
                }
                _ => self.clock_atom(n),
            };
            let Some(k) = value else {
                if n.kind_fast() == "identifier" {
                    self.closure_use(n);
                }
                continue;
            };
            self.judge(k, n);
        }
        self.check_outside_uses();
    }

    /// `other._x` in a class whose `self._x` is a clock attribute.
    fn foreign_attr(&self, n: Node<'t>) -> bool {
        let Some(name) = n.child_by_field_name("attribute").map(|a| self.text(a)) else { return false };
        self.private_attr(n).is_none()
            && self.class_of(n).is_some_and(|c| self.attrs.get(&c.id()).is_some_and(|a| a.iter().any(|x| x == name)))
    }

    /// A read, a clock local or a clock attribute, as a key.
    fn clock_atom(&mut self, n: Node<'t>) -> Option<usize> {
        match n.kind_fast() {
            "call" | "identifier" | "attribute" => self.clock(n).map(|k| k[0]),
            _ => None,
        }
    }

    /// A clock local of an enclosing function used in a nested one escapes
    /// (the closure may outlive the function).
    fn closure_use(&mut self, n: Node<'t>) {
        let name = self.text(n);
        let mut f = self.function_of(n);
        while let Some(inner) = f {
            let outer = self.function_of(inner);
            if let Some(o) = outer
                && self.locals.get(&o.id()).is_some_and(|l| l.iter().any(|x| x == name))
            {
                let k = self.key(Key::Local(o.id(), name.to_owned()));
                self.escape(k, n, format!("`{name}` is used in the nested function `{}`", self.fn_name(inner)));
                return;
            }
            f = outer;
        }
    }

    fn fn_name(&self, f: Node<'_>) -> &'t str {
        f.child_by_field_name("name").map(|n| self.text(n)).unwrap_or("?")
    }

    /// Walks up from one clock value to where it is used.
    fn judge(&mut self, k: usize, n: Node<'t>) {
        let mut cur = n;
        loop {
            let Some(p) = cur.parent() else { return };
            match p.kind_fast() {
                "parenthesized_expression" => cur = p,
                "argument_list" => {
                    let call = p.parent().filter(|c| wrapped(self.ctx, *c).is_some_and(|w| w.id() == cur.id()));
                    match call {
                        Some(c) => cur = c,
                        None => {
                            let callee = p.parent().and_then(|c| c.child_by_field_name("function"));
                            let name = callee.map(|c| self.text(c)).unwrap_or("a function");
                            return self.escape(k, cur, format!("passed to `{name}()`"));
                        }
                    }
                }
                "binary_operator" => {
                    let Some((l, op, r)) = operands(p) else { return };
                    let (other, left) = if l.id() == cur.id() { (r, true) } else { (l, false) };
                    let op = self.text(op);
                    if let (Some(o), "-") = (self.clock(other), op) {
                        let r = self.find(k);
                        self.durations[r] += 1;
                        o.into_iter().for_each(|x| self.union(k, x));
                        return;
                    }
                    if (op == "+" || (op == "-" && left)) && self.clock(other).is_none() && !self.other_clock(other) {
                        cur = p;
                        continue;
                    }
                    let what = first_line(self.text(other));
                    return self.escape(k, cur, format!("meets `{what}` (`{op}`), not a wall-clock read"));
                }
                "comparison_operator" => {
                    let mut cursor = p.walk();
                    let others: Vec<Node<'t>> = p
                        .named_children(&mut cursor)
                        .filter(|o| o.id() != cur.id() && o.kind_fast() != "comment")
                        .collect();
                    // `end is not None`: whether there is a deadline, not its value.
                    if others.iter().all(|o| o.kind_fast() == "none") {
                        return;
                    }
                    for o in others {
                        match self.clock(o) {
                            Some(keys) => keys.into_iter().for_each(|x| self.union(k, x)),
                            None => {
                                let what = first_line(self.text(o));
                                return self.escape(k, cur, format!("compared with `{what}`, not a wall-clock read"));
                            }
                        }
                    }
                    let r = self.find(k);
                    self.durations[r] += 1;
                    return;
                }
                "assignment" => {
                    let (Some(left), Some(right)) = (p.child_by_field_name("left"), p.child_by_field_name("right"))
                    else {
                        return;
                    };
                    if left.id() == cur.id() {
                        // A write: its value must be a clock value too, or
                        // `None` (no deadline yet: `end = None`).
                        if right.kind_fast() == "none" {
                            return;
                        }
                        if let Some(keys) = self.clock(right) {
                            keys.into_iter().for_each(|x| self.union(k, x));
                        } else {
                            let what = first_line(self.text(right));
                            self.escape(k, cur, format!("also assigned `{what}`"));
                        }
                        return;
                    }
                    if right.id() == cur.id()
                        && let Some(keys) = self.clock(left)
                    {
                        keys.into_iter().for_each(|x| self.union(k, x));
                        return;
                    }
                    let what = first_line(self.text(left));
                    return self.escape(k, cur, format!("stored in `{what}`"));
                }
                "augmented_assignment" if p.child_by_field_name("left").is_some_and(|l| l.id() == cur.id()) => {
                    let op = p.child_by_field_name("operator").map(|o| self.text(o)).unwrap_or("");
                    let right = p.child_by_field_name("right");
                    if matches!(op, "+=" | "-=")
                        && right.is_some_and(|r| self.clock(r).is_none() && !self.other_clock(r))
                    {
                        return;
                    }
                    return self.escape(k, cur, format!("updated with `{op}`"));
                }
                "expression_statement" => return,
                // A truth test (`if deadline and ...`): the value stays here.
                "boolean_operator" | "not_operator" => return,
                "if_statement" | "while_statement" | "elif_clause"
                    if p.child_by_field_name("condition").is_some_and(|c| c.id() == cur.id()) =>
                {
                    return;
                }
                "return_statement" => return self.escape(k, cur, "returned".into()),
                "parameters" | "default_parameter" | "typed_parameter" | "typed_default_parameter" => {
                    let name = self.text(cur);
                    return self.escape(k, cur, format!("`{name}` is a parameter or a global"));
                }
                "interpolation" | "string" | "concatenated_string" => {
                    return self.escape(k, cur, "formatted as a time".into());
                }
                kind => {
                    let what = if is_scope(kind) { "bound by a parameter or a nested scope" } else { kind };
                    return self.escape(k, cur, format!("used in a `{what}`"));
                }
            }
        }
    }

    /// A private attribute read outside the unit's class, or a parameter
    /// with a clock local's name: the value escapes.
    fn check_outside_uses(&mut self) {
        let attrs: Vec<(usize, String)> =
            self.attrs.iter().flat_map(|(c, names)| names.iter().map(move |n| (*c, n.clone()))).collect();
        for (class, name) in attrs {
            let k = self.key(Key::Attr(class, name.clone()));
            let Some(class_node) = self.node(class) else { continue };
            for at in self.ctx.find_spelled(&name) {
                if !class_node.byte_range().contains(&at) && word_at(self.ctx.whole_file().as_bytes(), at, name.len()) {
                    let node = self.ctx.root().descendant_for_byte_range(at, at + name.len()).unwrap_or(class_node);
                    self.escape(k, node, format!("`{name}` is used outside its class"));
                    break;
                }
            }
        }
        let locals: Vec<(usize, String)> =
            self.locals.iter().flat_map(|(f, names)| names.iter().map(move |n| (*f, n.clone()))).collect();
        for (f, name) in locals {
            let Some(func) = self.node(f) else { continue };
            let params = func.child_by_field_name("parameters").map(|p| self.text(p)).unwrap_or("");
            let declared = |kw: &str| self.text(func).contains(&format!("{kw} {name}"));
            if params.split(|c: char| !(c.is_alphanumeric() || c == '_')).any(|w| w == name)
                || declared("global")
                || declared("nonlocal")
            {
                let k = self.key(Key::Local(f, name.clone()));
                self.escape(k, func, format!("`{name}` is a parameter or a global"));
            }
        }
    }

    /// The node of the unit with this id (a class or a function).
    fn node(&self, id: usize) -> Option<Node<'t>> {
        let mut found = None;
        self.ctx.walk(
            self.unit,
            |_| true,
            |n| {
                if n.id() == id {
                    found = Some(n);
                }
            },
        );
        found
    }

    fn collect(mut self) -> Vec<Group<'t>> {
        let mut by_root: Vec<(usize, Group<'t>)> = Vec::new();
        let reads = std::mem::take(&mut self.reads);
        for (k, read) in reads {
            let r = self.find(k);
            match by_root.iter_mut().find(|(root, _)| *root == r) {
                Some((_, g)) => g.reads.push(read),
                None => by_root.push((
                    r,
                    Group {
                        reads: vec![read],
                        durations: self.durations[r],
                        escape: self.escapes[r].clone(),
                        members: 0,
                        attrs: Vec::new(),
                        classes: Vec::new(),
                    },
                )),
            }
        }
        let all: Vec<usize> = (0..self.parent.len()).collect();
        for i in all {
            let r = self.find(i);
            if let Some((_, g)) = by_root.iter_mut().find(|(root, _)| *root == r) {
                g.members += 1;
            }
        }
        let attr_keys: Vec<(Key, usize)> =
            self.keys.iter().filter(|(k, _)| matches!(k, Key::Attr(..))).map(|(k, i)| (k.clone(), *i)).collect();
        for (key, i) in attr_keys {
            let r = self.find(i);
            let class = match &key {
                Key::Attr(class, _) => self.node(*class).map(|c| c.byte_range()),
                _ => None,
            };
            if let (Key::Attr(_, name), Some((_, g))) = (key, by_root.iter_mut().find(|(root, _)| *root == r)) {
                g.attrs.push(name);
                if let Some(c) = class.filter(|c| !g.classes.contains(c)) {
                    g.classes.push(c);
                }
            }
        }
        let mut groups: Vec<Group<'t>> = by_root.into_iter().map(|(_, g)| g).collect();
        for g in &mut groups {
            g.reads.sort_by_key(|n| n.start_byte());
            g.attrs.sort();
        }
        groups.sort_by_key(|g| g.reads[0].start_byte());
        groups
    }
}

/// `int(x)` or `float(x)` (the builtins): `x`.
fn wrapped<'t>(ctx: &Ctx<'t>, call: Node<'t>) -> Option<Node<'t>> {
    let f = call.child_by_field_name("function")?;
    if f.kind_fast() != "identifier" || !matches!(ctx.text(f), "int" | "float") {
        return None;
    }
    let args = call.child_by_field_name("arguments")?;
    if args.named_child_count() != 1 {
        return None;
    }
    let arg = args.named_child(0)?;
    let builtin = ctx.resolver().resolve(f).is_some_and(|p| p == "builtins.int" || p == "builtins.float");
    (builtin && !matches!(arg.kind_fast(), "keyword_argument" | "list_splat" | "dictionary_splat")).then_some(arg)
}

/// Whether `n` is the `field` child of a `kind` parent.
fn is_field(n: Node<'_>, kind: &str, field: &str) -> bool {
    n.parent().is_some_and(|p| p.kind_fast() == kind && p.child_by_field_name(field).is_some_and(|f| f.id() == n.id()))
}

fn operands(e: Node<'_>) -> Option<(Node<'_>, Node<'_>, Node<'_>)> {
    Some((e.child_by_field_name("left")?, e.child_by_field_name("operator")?, e.child_by_field_name("right")?))
}

fn first_line(s: &str) -> &str {
    let line = s.lines().next().unwrap_or("");
    match line.char_indices().nth(60) {
        Some((i, _)) => &line[..i],
        None => line,
    }
}

fn word_at(bytes: &[u8], at: usize, len: usize) -> bool {
    let word = |b: u8| b.is_ascii_alphanumeric() || b == b'_' || b >= 0x80;
    !at.checked_sub(1).is_some_and(|i| word(bytes[i])) && !bytes.get(at + len).copied().is_some_and(word)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Each group of `src`'s first top-level statement holding a read:
    /// "move" (measures, never escapes), "escapes: <why>", or "lone".
    fn verdicts(src: &str) -> Vec<String> {
        let tree = crate::python::parse::parse(src).unwrap();
        let indent = crate::pipeline::source::Indent::known("    ");
        let ctx = Ctx::new(src, &tree, &indent, "\n");
        let root = ctx.root();
        let mut cursor = root.walk();
        let units: Vec<Node<'_>> = root.named_children(&mut cursor).collect();
        units
            .into_iter()
            .flat_map(|u| groups(&ctx, u))
            .map(|g| match (&g.escape, g.durations) {
                (Some((_, why)), _) => format!("escapes: {why}"),
                (None, 0) => "lone".to_owned(),
                (None, _) => format!("move {}", g.reads.len()),
            })
            .collect()
    }

    const HEAD: &str = "import time\n\n\n";

    #[test]
    fn a_deadline_and_its_checks_move_together() {
        let src = format!("{HEAD}def f(t):\n    end = time.time() + t\n    while time.time() < end:\n        pass\n");
        assert_eq!(verdicts(&src), ["move 2"]);
        // A deadline made in two steps, and a remaining time.
        let src = format!(
            "{HEAD}def f(t):\n    start = time.time()\n    end = start + t\n    left = end - time.time()\n    return left\n"
        );
        assert_eq!(verdicts(&src), ["move 2"]);
    }

    #[test]
    fn a_value_that_leaves_as_a_timestamp_escapes() {
        for (tail, why) in [
            ("    log(start)\n", "passed to `log()`"),
            ("    return start\n", "returned"),
            ("    d['t'] = start\n", "stored in `d['t']`"),
            ("    s = f'{start}'\n", "formatted as a time"),
            ("    x = start > other\n", "compared with `other`, not a wall-clock read"),
            ("    start = 0\n", "also assigned `0`"),
        ] {
            let src =
                format!("{HEAD}def f(other, d, log):\n    start = time.time()\n    x = time.time() - start\n{tail}");
            assert_eq!(verdicts(&src), [format!("escapes: {why}")], "{tail}");
        }
    }

    #[test]
    fn mixing_clocks_escapes() {
        let src = format!("{HEAD}def f(p):\n    return time.time() - os.path.getmtime(p) > 5\n");
        assert!(verdicts(&src)[0].starts_with("escapes: meets `os.path.getmtime(p)`"), "{:?}", verdicts(&src));
        let src = format!("{HEAD}def f():\n    start = time.time()\n    return time.monotonic() - start\n");
        assert!(verdicts(&src)[0].starts_with("escapes: meets `time.monotonic()`"), "{:?}", verdicts(&src));
    }

    #[test]
    fn none_means_no_deadline_yet() {
        let src = format!(
            "{HEAD}def f(t):\n    end = None\n    if t:\n        end = time.time() + t\n    while end is None or time.time() < end:\n        pass\n"
        );
        assert_eq!(verdicts(&src), ["move 2"]);
    }

    #[test]
    fn a_private_attribute_moves_only_when_the_class_keeps_it() {
        let class = "class T(object):\n    def __init__(self):\n        self._last = time.time()\n\n    def wait(self):\n        return self._last - time.time() + 2\n";
        assert_eq!(verdicts(&format!("{HEAD}{class}")), ["move 2"]);
        let public = class.replace("_last", "last");
        assert!(verdicts(&format!("{HEAD}{public}")).iter().all(|v| v.starts_with("escapes")), "{public}");
        let reset = format!("{class}\n    def reset(self):\n        self._last = 0\n");
        assert_eq!(verdicts(&format!("{HEAD}{reset}")), ["escapes: also assigned `0`"]);
        let outside = format!("{HEAD}{class}\n\ndef peek(t):\n    return t._last\n");
        assert_eq!(verdicts(&outside), ["escapes: `_last` is used outside its class"]);
    }

    #[test]
    fn closures_and_parameters_escape() {
        let src = format!(
            "{HEAD}def f():\n    start = time.time()\n    def g():\n        return time.time() - start\n    return g\n"
        );
        assert!(
            verdicts(&src).iter().any(|v| v == "escapes: `start` is used in the nested function `g`"),
            "{:?}",
            verdicts(&src)
        );
        let src = format!("{HEAD}def f(start):\n    start = time.time()\n    return time.time() - start > 1\n");
        assert_eq!(verdicts(&src), ["escapes: `start` is a parameter or a global"]);
    }

    #[test]
    fn a_lone_read_measures_nothing() {
        assert_eq!(verdicts(&format!("{HEAD}def f():\n    t = time.time()\n")), ["lone"]);
    }
}
