//! How a `while True:` loop can be left: its `break`s, `return`s and
//! `raise`s, and the conditions each one depends on.
//!
//! Only the loop's own body counts: nested functions, lambdas and classes are
//! not walked, and a `break`/`continue` belongs to its innermost loop. A
//! `return` or `raise` in a nested loop does leave this loop, so it counts.

use crate::python::parse::KindFast;
use tree_sitter::Node;

use crate::python::is_scope;
use crate::python::parse::{ancestors, walk};
use crate::transforms::Ctx;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExitKind {
    Break,
    Return,
    /// `bare`: a re-raise (`raise` alone). `process_exit`: `raise SystemExit`
    /// or `KeyboardInterrupt`, which end the program rather than the wait.
    Raise {
        bare: bool,
        process_exit: bool,
    },
}

/// A statement that leaves the loop, and what it depends on.
pub struct Exit<'t> {
    pub node: Node<'t>,
    pub kind: ExitKind,
    /// Conditions on the way from the loop body to the exit (`if`, `elif`,
    /// nested `while`, `for`, `case`), and, for an exit after a `continue`,
    /// the continue's.
    pub guards: Vec<Node<'t>>,
    /// The innermost `except` clause holding the exit.
    pub in_handler: Option<Node<'t>>,
    /// Whether the exit depends on anything (a guard, a handler, a `try`).
    pub conditional: bool,
}

impl Exit<'_> {
    /// A `break`, `return` or `raise` that ends the wait because something
    /// happened (not a re-raise, not a process exit), under a condition.
    pub fn leaves_on_condition(&self) -> bool {
        self.conditional
            && match self.kind {
                ExitKind::Break | ExitKind::Return => true,
                ExitKind::Raise { bare, process_exit } => !bare && !process_exit && self.in_handler.is_none(),
            }
    }
}

/// Whether `lp` is the innermost loop (`while`/`for`) around `n`, a node
/// inside it, with no scope in between. The ancestors come from one descent
/// from `lp`: a chain of `parent()` calls would descend from the module root
/// at every step, and this runs for every sleep, `break` and `continue`.
pub fn owned_by(lp: Node<'_>, n: Node<'_>) -> bool {
    // `[lp, ..., n's parent]`; empty if `n` is not inside `lp`.
    for p in ancestors(lp, n).iter().rev() {
        match p.kind_fast() {
            "while_statement" | "for_statement" => return p.id() == lp.id(),
            k if is_scope(k) => return false,
            _ => {}
        }
    }
    false
}

/// Every exit of `lp` (whose body is `body`), in source order. Besides
/// `break`, `return` and `raise`, these end the loop by raising: `assert`
/// (its condition is a guard), a test's `self.fail(...)` / `pytest.fail(...)`,
/// a `with save_and_reraise_exception()` block (it re-raises unless the
/// conditions inside say otherwise), and the process exits `sys.exit(...)`,
/// `os._exit(...)`.
pub fn exits_of<'t>(ctx: &Ctx<'t>, lp: Node<'t>, body: Node<'t>) -> Vec<Exit<'t>> {
    let mut exits = Vec::new();
    let mut continues: Vec<(Node<'t>, Vec<Node<'t>>)> = Vec::new();
    ctx.walk(
        body,
        |n| n.id() == body.id() || !is_scope(n.kind_fast()),
        |n| {
            let mut extra_guards = Vec::new();
            let kind = match n.kind_fast() {
                "break_statement" | "continue_statement" if !owned_by(lp, n) => return,
                "break_statement" => ExitKind::Break,
                "return_statement" => ExitKind::Return,
                "raise_statement" => {
                    ExitKind::Raise { bare: n.named_child_count() == 0, process_exit: raises_process_exit(ctx, n) }
                }
                "assert_statement" => {
                    extra_guards.extend(n.named_child(0));
                    ExitKind::Raise { bare: false, process_exit: false }
                }
                "call" => match terminal_call(ctx, n) {
                    Some(kind) => kind,
                    None => return,
                },
                "with_statement" if reraise_block(ctx, n) => {
                    extra_guards = reraise_conditions(ctx, n);
                    ExitKind::Raise { bare: true, process_exit: false }
                }
                "continue_statement" => {
                    let (mut guards, handler, _) = guards_of(n, body);
                    guards.extend(handler);
                    continues.push((n, guards));
                    return;
                }
                _ => return,
            };
            let (mut guards, in_handler, in_try) = guards_of(n, body);
            let mut conditional = !guards.is_empty() || in_handler.is_some() || in_try || !extra_guards.is_empty();
            guards.extend(extra_guards);
            if !conditional {
                // A top-level exit after a `continue` runs only when the continue didn't.
                for (c, g) in &continues {
                    if c.start_byte() < n.start_byte() {
                        conditional = true;
                        guards.extend(g.iter().copied());
                    }
                }
            }
            exits.push(Exit { node: n, kind, guards, in_handler, conditional });
        },
    );
    exits
}

/// A call statement that never returns: a test failure (raises) or a
/// process exit.
pub fn terminal_call(ctx: &Ctx<'_>, call: Node<'_>) -> Option<ExitKind> {
    let func = call.child_by_field_name("function")?;
    let (last, attribute) = match func.kind_fast() {
        "attribute" => (ctx.text(func.child_by_field_name("attribute")?), true),
        "identifier" => (ctx.text(func), false),
        _ => return None,
    };
    let failure = matches!(last, "fail" | "skipTest");
    // Only these spellings can resolve to a process exit below: an attribute
    // keeps its name in the path; a bare name is an import's alias or, if
    // nothing binds it, a builtin. Most calls stop here, before the parent
    // check (a descent from the root) and the resolution.
    let may_exit = if attribute {
        matches!(last, "exit" | "_exit" | "abort")
    } else {
        matches!(last, "exit" | "quit") || ctx.resolver().imports_anywhere(last)
    };
    if !(failure || may_exit) || call.parent().is_none_or(|p| p.kind_fast() != "expression_statement") {
        return None;
    }
    if failure {
        return Some(ExitKind::Raise { bare: false, process_exit: false });
    }
    let path = ctx.resolver().resolve(func)?;
    matches!(path.as_str(), "sys.exit" | "os._exit" | "os.abort" | "builtins.exit" | "builtins.quit")
        .then_some(ExitKind::Raise { bare: false, process_exit: true })
}

/// `with excutils.save_and_reraise_exception() as ctx:` and the like.
pub fn reraise_block(ctx: &Ctx<'_>, with: Node<'_>) -> bool {
    let mut c = with.walk();
    with.children(&mut c).any(|ch| ch.kind_fast() == "with_clause" && ctx.text(ch).contains("reraise"))
}

/// What decides whether a re-raise block re-raises: the conditions of its
/// `if`s, and the values assigned to `ctx.reraise`.
pub fn reraise_conditions<'t>(ctx: &Ctx<'t>, with: Node<'t>) -> Vec<Node<'t>> {
    let mut out = Vec::new();
    let Some(body) = with.child_by_field_name("body") else { return out };
    ctx.walk(
        body,
        |n| !is_scope(n.kind_fast()),
        |n| match n.kind_fast() {
            "if_statement" | "elif_clause" => out.extend(n.child_by_field_name("condition")),
            "assignment" => {
                let left = n.child_by_field_name("left").map(|l| ctx.text(l)).unwrap_or("");
                if left.ends_with(".reraise") {
                    out.extend(n.child_by_field_name("right"));
                }
            }
            _ => {}
        },
    );
    out
}

/// `raise SystemExit(...)`, `raise KeyboardInterrupt`: the program ends.
fn raises_process_exit(ctx: &Ctx<'_>, raise: Node<'_>) -> bool {
    let Some(value) = raise.named_child(0) else { return false };
    let class = if value.kind_fast() == "call" { value.child_by_field_name("function") } else { Some(value) };
    class.is_some_and(|c| matches!(ctx.text(c), "SystemExit" | "KeyboardInterrupt"))
}

/// Conditions between `n` and the loop body; the innermost `except` clause;
/// whether `n` sits in a `try` body or its `else:` (both run only when no
/// exception was raised, so an exit there depends on the call succeeding).
/// `n` must be inside `body`: its ancestors come from one descent from
/// `body` (see [`owned_by`]).
fn guards_of<'t>(n: Node<'t>, body: Node<'t>) -> (Vec<Node<'t>>, Option<Node<'t>>, bool) {
    let mut guards = Vec::new();
    let mut handler = None;
    let mut in_try = false;
    let mut child = n;
    let chain = ancestors(body, n);
    debug_assert!(!chain.is_empty(), "guards_of: the node is not inside the loop body");
    // Innermost first, up to the body (excluded).
    for &p in chain.iter().skip(1).rev() {
        match p.kind_fast() {
            "if_statement" | "elif_clause" | "while_statement" => {
                if let Some(c) = p.child_by_field_name("condition")
                    && c.id() != child.id()
                {
                    guards.push(c);
                }
            }
            // A nested `for` or `case` guards by what it iterates or matches,
            // not by its whole text.
            "for_statement" => guards.extend(p.child_by_field_name("right")),
            "case_clause" => guards.extend(p.named_child(0)),
            "except_clause" | "except_group_clause" if handler.is_none() => handler = Some(p),
            "try_statement" => {
                let in_body = p.child_by_field_name("body").is_some_and(|b| b.id() == child.id());
                in_try |= in_body || child.kind_fast() == "else_clause";
            }
            _ => {}
        }
        child = p;
    }
    (guards, handler, in_try)
}

/// Whether, after the sleep `call`, the iteration always leaves `lp`: the
/// statements after it (in its block, then after each enclosing statement
/// up to the loop body) reach a `break`, `return` or `raise` of this loop
/// before the iteration ends or a `continue` loops back. A sleep that is
/// always followed by leaving is a back-off or a pause, not a wait. Inside a
/// `try` body with handlers, a call on the way could raise into a handler
/// that loops on, so only call-free statements may stand in between.
pub fn followed_by_leaving(lp: Node<'_>, call: Node<'_>) -> bool {
    let Some(body) = lp.child_by_field_name("body") else { return false };
    // `[lp, body, ..., call]`: every node from the loop down to the call, from
    // one descent (see [`owned_by`]); the climbs below index into it.
    let mut chain = ancestors(lp, call);
    if chain.len() < 2 || chain[1].id() != body.id() {
        return false; // Not in the loop's body (never the case for its sleeps).
    }
    chain.push(call);
    let guarded = in_try_body_with_handler(&chain);
    // The statement holding the call: the outermost node below its block.
    let mut at = chain.len() - 1;
    while !matches!(chain[at - 1].kind_fast(), "block" | "module") {
        at -= 1;
    }
    let mut calls_between = false;
    loop {
        // The statements after `chain[at]` in its block (one pass over the
        // block: `next_named_sibling()` descends from the root each time).
        let mut cursor = chain[at - 1].walk();
        let after: Vec<Node<'_>> =
            chain[at - 1].named_children(&mut cursor).skip_while(|s| s.id() != chain[at].id()).skip(1).collect();
        for n in after {
            let leaves = match n.kind_fast() {
                "comment" => None,
                "return_statement" | "raise_statement" => Some(true),
                "break_statement" => Some(owned_by(lp, n)),
                "continue_statement" => return false,
                _ if has_own_continue(lp, n) => return false,
                _ => {
                    calls_between |= has_call(n);
                    None
                }
            };
            if let Some(leaves) = leaves {
                return leaves && !(guarded && (calls_between || has_call(n)));
            }
        }
        // End of this block: carry on after the compound statement holding it.
        let block = at - 1;
        if chain[block].id() == body.id() {
            return false;
        }
        let mut holder = block;
        loop {
            let p = chain[holder - 1];
            if p.kind_fast() == "block" {
                break;
            }
            if p.id() == lp.id()
                || matches!(p.kind_fast(), "for_statement" | "while_statement")
                || is_scope(p.kind_fast())
            {
                return false;
            }
            holder -= 1;
        }
        at = holder;
    }
}

/// Whether the last node of `chain` (`[lp, ..., n]`, each the parent of the
/// next) sits in the body of a `try` with handlers, inside the loop.
fn in_try_body_with_handler(chain: &[Node<'_>]) -> bool {
    (1..chain.len()).rev().any(|i| {
        let (p, child) = (chain[i - 1], chain[i]);
        i > 1
            && p.kind_fast() == "try_statement"
            && p.child_by_field_name("body").is_some_and(|b| b.id() == child.id())
            && has_handler(p)
    })
}

fn has_call(n: Node<'_>) -> bool {
    let found = std::cell::Cell::new(false);
    walk(n, |c| !found.get() && !is_scope(c.kind_fast()), |c| found.set(found.get() || c.kind_fast() == "call"));
    found.get()
}

fn has_handler(try_stmt: Node<'_>) -> bool {
    let mut c = try_stmt.walk();
    try_stmt.named_children(&mut c).any(|n| matches!(n.kind_fast(), "except_clause" | "except_group_clause"))
}

fn has_own_continue(lp: Node<'_>, n: Node<'_>) -> bool {
    let found = std::cell::Cell::new(false);
    walk(
        n,
        |c| !found.get() && !is_scope(c.kind_fast()),
        |c| {
            if c.kind_fast() == "continue_statement" && owned_by(lp, c) {
                found.set(true);
            }
        },
    );
    found.get()
}
