//! What a loop waits on: the inputs of its exit conditions.
//!
//! Each condition that ends the loop (the `while` condition, and each
//! condition guarding a `break` or `return`) is read down to its inputs:
//!
//! - **awaited external state**: a call (`dev.is_job_complete()`,
//!   `os.path.exists(p)`), a value the loop refreshes from a call
//!   (`status = get(); if status == 'done'`), or the state of an object the
//!   loop does not own (`system.power_state`, a parameter's attribute): the
//!   loop is a wait;
//! - **a stop flag**: state the process owns and sets elsewhere: an
//!   attribute of `self` (or `cls`) tested as a flag (`while self._running:`,
//!   `self.state != DEAD`), an Event's `is_set()`, a module global: the
//!   loop is a service loop, its owner decides how long it runs;
//! - **work that runs out**: a collection the loop drains (`while queue:`
//!   with a `pop` in the body): a progress loop;
//! - **a message taken from a queue** (`job = q.get()`): a consumer loop.
//!
//! Values computed from the loop's own locals (a flag set in the loop) are
//! read through: the inputs of `done` in `done = rsp['state'] == 'ok'` are
//! those of `rsp`; for `done = True`, those of the conditions under which
//! it is set.

use tree_sitter::Node;

use super::bounds::assignments_to;
use crate::python::is_scope;
use crate::python::parse::KindFast;
use crate::transforms::Ctx;

/// The first input of each kind found.
#[derive(Default, Clone, Copy)]
pub struct Verdict<'t> {
    pub external: Option<Node<'t>>,
    pub stop: Option<Node<'t>>,
    pub drain: Option<Node<'t>>,
    pub consume: Option<Node<'t>>,
}

pub struct Inputs<'c, 't> {
    ctx: &'c Ctx<'t>,
    body: Node<'t>,
    /// The functions around the loop, innermost first.
    functions: Vec<Node<'t>>,
    /// Names and attributes the loop drains (`x.pop()`, `x.remove(...)`, `x -= ...`, `del x[...]`).
    drained: Vec<&'t str>,
    /// Objects the loop calls methods on (`system` of `system.refresh()`).
    called_on: Vec<&'t str>,
    /// Expressions read so far (a budget, see [`Inputs::expr`]).
    steps: usize,
    pub verdict: Verdict<'t>,
}

/// Builtins whose result is their arguments' (`len(x)`, `int(x)`): read through.
const TRANSPARENT: &[&str] = &[
    "len",
    "int",
    "float",
    "str",
    "bool",
    "abs",
    "min",
    "max",
    "any",
    "all",
    "getattr",
    "hasattr",
    "isinstance",
    "round",
    "sorted",
    "list",
    "set",
    "tuple",
    "dict",
    "repr",
    "format",
];

const DRAINS: &[&str] = &["pop", "popleft", "popitem", "remove", "discard", "clear", "get_nowait"];

impl<'c, 't> Inputs<'c, 't> {
    pub fn new(ctx: &'c Ctx<'t>, lp: Node<'t>) -> Self {
        let body = lp.child_by_field_name("body").unwrap_or(lp);
        let functions: Vec<Node<'t>> = crate::python::parse::ancestors(ctx.root(), lp)
            .into_iter()
            .rev()
            .filter(|n| matches!(n.kind_fast(), "function_definition" | "lambda"))
            .collect();
        let mut drained = Vec::new();
        let mut called_on = Vec::new();
        ctx.walk(
            body,
            |n| n.id() == body.id() || !is_scope(n.kind_fast()),
            |n| match n.kind_fast() {
                "call" => {
                    if let Some(f) = n.child_by_field_name("function")
                        && f.kind_fast() == "attribute"
                        && let (Some(obj), Some(attr)) =
                            (f.child_by_field_name("object"), f.child_by_field_name("attribute"))
                    {
                        if DRAINS.contains(&ctx.text(attr)) {
                            drained.push(ctx.text(obj));
                        }
                        called_on.push(ctx.text(root_object(obj)));
                    }
                }
                "augmented_assignment" => {
                    let op = n.child_by_field_name("operator").map(|o| ctx.text(o)).unwrap_or("");
                    let right = n.child_by_field_name("right").map(|r| r.kind_fast()).unwrap_or("");
                    // `pending -= done` drains; `count -= 1` counts.
                    if op == "-=" && !matches!(right, "integer" | "float") {
                        drained.extend(n.child_by_field_name("left").map(|l| ctx.text(l)));
                    }
                }
                "delete_statement" => {
                    let mut c = n.walk();
                    for t in n.named_children(&mut c) {
                        let t =
                            if t.kind_fast() == "subscript" { t.child_by_field_name("value").unwrap_or(t) } else { t };
                        drained.push(ctx.text(t));
                    }
                }
                _ => {}
            },
        );
        Inputs { ctx, body, functions, drained, called_on, steps: 0, verdict: Verdict::default() }
    }

    /// Reads the inputs of an exit condition.
    pub fn condition(&mut self, cond: Node<'t>) {
        self.expr(cond, 2, 0);
    }

    /// An exit with no condition of its own but inside a `try` (it runs when
    /// the calls before it succeed) or an `except` clause (when they fail):
    /// it waits for those calls.
    pub fn outcome_of_calls(&mut self, exit: Node<'t>) {
        self.verdict.external.get_or_insert(exit);
    }

    pub fn stop_handler(&mut self, handler: Node<'t>) {
        self.verdict.stop.get_or_insert(handler);
    }

    fn is_constant(&self, n: Node<'t>) -> bool {
        let mut n = n;
        while matches!(n.kind_fast(), "unary_operator" | "parenthesized_expression") {
            match n.named_child(0) {
                Some(c) => n = c,
                None => return false,
            }
        }
        match n.kind_fast() {
            "integer" | "float" | "string" | "concatenated_string" | "true" | "false" | "none" => true,
            "tuple" | "list" | "set" => {
                let mut c = n.walk();
                n.named_children(&mut c).all(|x| {
                    matches!(x.kind_fast(), "integer" | "float" | "string" | "true" | "false" | "none")
                        || x.kind_fast() == "identifier" && is_constant_name(self.ctx.text(x))
                })
            }
            "identifier" => is_constant_name(self.ctx.text(n)),
            "attribute" => n.child_by_field_name("attribute").is_some_and(|a| is_constant_name(self.ctx.text(a))),
            _ => false,
        }
    }

    /// `flag`: the value is tested as a flag (its truth, or compared with a constant).
    fn expr(&mut self, n: Node<'t>, flag: u8, depth: usize) {
        // Parentheses and `not`s are unwrapped in a loop, not by recursion
        // (a condition may nest thousands of them), and the whole reading
        // has a budget of steps: an unreadable condition counts as awaited.
        let mut n = n;
        while matches!(n.kind_fast(), "not_operator" | "parenthesized_expression") {
            match n.named_child(0) {
                Some(c) => n = c,
                None => return,
            }
        }
        self.steps += 1;
        if depth > 4 {
            return;
        }
        if self.steps > 2000 || n.is_error() || n.is_missing() {
            self.verdict.external.get_or_insert(n);
            return;
        }
        match n.kind_fast() {
            "boolean_operator" => {
                let mut c = n.walk();
                let kids: Vec<Node<'t>> = n.named_children(&mut c).collect();
                for k in kids {
                    self.expr(k, flag, depth);
                }
            }
            "comparison_operator" => {
                let mut c = n.walk();
                let operands: Vec<Node<'t>> = n.named_children(&mut c).filter(|k| k.kind_fast() != "comment").collect();
                let constants = operands.iter().filter(|o| self.is_constant(**o)).count();
                let against_constants = constants + 1 >= operands.len();
                let f = if flag > 0 && against_constants { 1 } else { 0 };
                for o in operands {
                    if !self.is_constant(o) {
                        self.expr(o, f, depth);
                    }
                }
            }
            "call" => self.call(n, flag, depth),
            "identifier" => self.name(n, flag, depth),
            "attribute" => self.attribute(n, flag, depth),
            "subscript" => {
                if let Some(v) = n.child_by_field_name("value") {
                    self.expr(v, 0, depth);
                }
            }
            "await" => {
                if let Some(c) = n.named_child(0) {
                    self.expr(c, flag, depth);
                }
            }
            _ if self.is_constant(n) => {}
            "lambda" => {}
            _ => {
                let mut c = n.walk();
                let kids: Vec<Node<'t>> = n.named_children(&mut c).collect();
                for k in kids {
                    self.expr(k, 0, depth);
                }
            }
        }
    }

    fn call(&mut self, call: Node<'t>, flag: u8, depth: usize) {
        let ctx = self.ctx;
        let Some(f) = call.child_by_field_name("function") else { return };
        let args = call.child_by_field_name("arguments");
        let last = match f.kind_fast() {
            "identifier" => ctx.text(f),
            "attribute" => f.child_by_field_name("attribute").map(|a| ctx.text(a)).unwrap_or(""),
            _ => "",
        };
        if f.kind_fast() == "identifier" && TRANSPARENT.contains(&last) {
            if let Some(a) = args {
                let mut c = a.walk();
                let kids: Vec<Node<'t>> = a.named_children(&mut c).collect();
                for k in kids {
                    // `len(queue)`: the collection, tested for being empty.
                    self.expr(k, if last == "len" { flag } else { 0 }, depth);
                }
            }
            return;
        }
        if last == "is_set" {
            // An Event: set by another thread of the process.
            self.verdict.stop.get_or_insert(call);
            return;
        }
        if is_consume(ctx, call) {
            self.verdict.consume.get_or_insert(call);
            return;
        }
        self.verdict.external.get_or_insert(call);
    }

    /// Values assigned to `target` (a name or an attribute's text) in the loop body.
    fn assigned_in_loop(&self, target: &str) -> Vec<Node<'t>> {
        assignments_to(self.ctx, self.body, target)
    }

    /// A value refreshed in the loop: its inputs are those of what it is
    /// assigned, or, for a constant, of the conditions it is assigned under.
    fn refreshed(&mut self, values: Vec<Node<'t>>, flag: u8, depth: usize) {
        for v in values {
            if self.is_constant(v) {
                for g in guards_in(self.body, v) {
                    self.expr(g, 2, depth + 1);
                }
            } else {
                self.expr(v, flag, depth + 1);
            }
        }
    }

    fn name(&mut self, n: Node<'t>, flag: u8, depth: usize) {
        let name = self.ctx.text(n);
        if flag > 0 && self.drained.contains(&name) {
            self.verdict.drain.get_or_insert(n);
            return;
        }
        let values = self.assigned_in_loop(name);
        if !values.is_empty() {
            self.refreshed(values, flag, depth);
            return;
        }
        // Not assigned in the loop: bound in a function around it (a
        // parameter, a local set before the loop, a closure's variable),
        // it is fixed for the loop; a module global is set elsewhere.
        if is_constant_name(name) || self.functions.iter().any(|f| binds(self.ctx, *f, name)) {
            return;
        }
        let module = self.ctx.resolver().module();
        if flag > 0 && module.binds(name) && matches!(module.lookup(name), Some(Err(()))) {
            self.verdict.stop.get_or_insert(n);
        }
    }

    fn attribute(&mut self, n: Node<'t>, flag: u8, depth: usize) {
        let text = self.ctx.text(n);
        if flag > 0 && self.drained.contains(&text) {
            self.verdict.drain.get_or_insert(n);
            return;
        }
        let root = root_object(n);
        let root_text = self.ctx.text(root);
        let owned = matches!(root_text, "self" | "cls");
        let values = self.assigned_in_loop(text);
        // A flag of the object's own that the loop only sets to a constant
        // (`self.alive = False` before leaving) is still its owner's flag.
        let own_flag = owned && flag > 0 && values.iter().all(|v| self.is_constant(*v));
        if !values.is_empty() && !own_flag {
            self.refreshed(values, flag, depth);
            return;
        }
        if owned {
            // State the object owns, set by its other methods.
            if flag > 0 {
                self.verdict.stop.get_or_insert(n);
            }
            return;
        }
        if root.kind_fast() == "identifier" {
            let name = root_text;
            if is_constant_name(name) || self.ctx.resolver().imports_anywhere(name) && self.is_import(name, n) {
                return; // `errno.EAGAIN`, `sushy.POWER_STATE_OFF`
            }
            let values = self.assigned_in_loop(name);
            if !values.is_empty() {
                self.refreshed(values, 0, depth);
                return;
            }
            // A flag of another object, tested for its truth (`ctx.cancelled`),
            // set by whoever shares it; but state the loop refreshes itself
            // (`system.refresh()`) or compares (`handler.controller is not
            // None`) is the state of an object the loop does not own.
            if flag == 2 && !self.called_on.contains(&name) {
                self.verdict.stop.get_or_insert(n);
                return;
            }
            self.verdict.external.get_or_insert(n);
            return;
        }
        self.expr(root, 0, depth);
    }

    fn is_import(&self, name: &str, at: Node<'t>) -> bool {
        self.ctx.resolver().resolve_name(name, at).is_some_and(|p| !p.starts_with("builtins."))
    }
}

/// `ALL_CAPS` names: constants by convention.
fn is_constant_name(name: &str) -> bool {
    let last = name.rsplit('.').next().unwrap_or(name);
    last.chars().any(|c| c.is_ascii_uppercase()) && !last.chars().any(|c| c.is_ascii_lowercase())
}

/// The innermost object of an attribute or subscript chain (`a` in `a.b[0].c`).
fn root_object(n: Node<'_>) -> Node<'_> {
    let mut cur = n;
    loop {
        let next = match cur.kind_fast() {
            "attribute" => cur.child_by_field_name("object"),
            "subscript" => cur.child_by_field_name("value"),
            "call" => cur.child_by_field_name("function"),
            _ => None,
        };
        match next {
            Some(x) => cur = x,
            None => return cur,
        }
    }
}

/// Whether `func` (a function or lambda) binds `name`: a parameter, or an
/// assignment, `for` target, `with ... as`, import... anywhere in it.
fn binds<'t>(ctx: &Ctx<'t>, func: Node<'t>, name: &str) -> bool {
    if let Some(params) = func.child_by_field_name("parameters") {
        let found = std::cell::Cell::new(false);
        crate::python::parse::walk(
            params,
            |_| !found.get(),
            |c| found.set(found.get() || c.kind_fast() == "identifier" && ctx.text(c) == name),
        );
        if found.get() {
            return true;
        }
    }
    if !ctx.assignments(func).iter().any(|a| ctx.text(a.left) == name || binds_target(ctx, a.left, name)) {
        // `for name in`, `with x as name`, `name += 1`, `global`: rarer; read the text.
        let Some(body) = func.child_by_field_name("body") else { return false };
        let found = std::cell::Cell::new(false);
        ctx.walk(
            body,
            |c| !found.get() && (c.id() == body.id() || !is_scope(c.kind_fast())),
            |c| {
                let target = match c.kind_fast() {
                    "for_statement" | "for_in_clause" => c.child_by_field_name("left"),
                    "as_pattern_target" | "augmented_assignment" => {
                        if c.kind_fast() == "augmented_assignment" {
                            c.child_by_field_name("left")
                        } else {
                            Some(c)
                        }
                    }
                    "nonlocal_statement" | "global_statement" => None,
                    _ => None,
                };
                if target.is_some_and(|t| ctx.text(t) == name || binds_target(ctx, t, name)) {
                    found.set(true);
                }
            },
        );
        return found.get();
    }
    true
}

fn binds_target(ctx: &Ctx<'_>, target: Node<'_>, name: &str) -> bool {
    let mut c = target.walk();
    matches!(target.kind_fast(), "pattern_list" | "tuple_pattern" | "list_pattern")
        && target.named_children(&mut c).any(|t| ctx.text(t) == name)
}

/// `q.get()`, `q.get(timeout=1)`, `q.get_nowait()`, `q.dequeue()`: a
/// message or job taken from a queue (`d.get(key)`, with a positional key,
/// reads a mapping).
fn is_consume(ctx: &Ctx<'_>, call: Node<'_>) -> bool {
    let Some(f) = call.child_by_field_name("function").filter(|f| f.kind_fast() == "attribute") else { return false };
    let attr = f.child_by_field_name("attribute").map(|a| ctx.text(a)).unwrap_or("");
    let positional = call.child_by_field_name("arguments").is_some_and(|a| {
        let mut c = a.walk();
        a.named_children(&mut c).any(|x| !matches!(x.kind_fast(), "keyword_argument" | "comment"))
    });
    (attr == "get" && !positional) || attr.starts_with("dequeue") || attr == "get_nowait"
}

/// The conditions guarding `n` inside `body` (`if`, `elif`, `while`).
fn guards_in<'t>(body: Node<'t>, n: Node<'t>) -> Vec<Node<'t>> {
    let mut out = Vec::new();
    let chain = crate::python::parse::ancestors(body, n);
    let mut child = n;
    for &p in chain.iter().rev() {
        if matches!(p.kind_fast(), "if_statement" | "elif_clause" | "while_statement")
            && let Some(c) = p.child_by_field_name("condition")
            && c.id() != child.id()
        {
            out.push(c);
        }
        if is_scope(p.kind_fast()) {
            break;
        }
        child = p;
    }
    out
}
