//! How a `while True:` loop can be left: its `break`s, `return`s and
//! `raise`s, and the conditions each one depends on.
//!
//! Only the loop's own body counts: nested functions, lambdas and classes are
//! not walked, and a `break`/`continue` belongs to its innermost loop. A
//! `return` or `raise` in a nested loop does leave this loop, so it counts.

use tree_sitter::Node;

use crate::parse::walk;
use crate::python::is_scope;
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

/// The innermost loop (`while`/`for`) around `n`, stopping at scopes.
pub fn owner_loop(n: Node<'_>) -> Option<Node<'_>> {
    let mut cur = n.parent();
    while let Some(p) = cur {
        match p.kind() {
            "while_statement" | "for_statement" => return Some(p),
            k if is_scope(k) => return None,
            _ => {}
        }
        cur = p.parent();
    }
    None
}

/// Every exit of `lp` (whose body is `body`), in source order.
pub fn exits_of<'t>(ctx: &Ctx<'t>, lp: Node<'t>, body: Node<'t>) -> Vec<Exit<'t>> {
    let mut exits = Vec::new();
    let mut continues: Vec<(Node<'t>, Vec<Node<'t>>)> = Vec::new();
    walk(
        body,
        |n| n.id() == body.id() || !is_scope(n.kind()),
        |n| {
            let kind = match n.kind() {
                "break_statement" | "continue_statement" if owner_loop(n).is_none_or(|o| o.id() != lp.id()) => return,
                "break_statement" => ExitKind::Break,
                "return_statement" => ExitKind::Return,
                "raise_statement" => {
                    ExitKind::Raise { bare: n.named_child_count() == 0, process_exit: raises_process_exit(ctx, n) }
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
            let mut conditional = !guards.is_empty() || in_handler.is_some() || in_try;
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

/// `raise SystemExit(...)`, `raise KeyboardInterrupt`: the program ends.
fn raises_process_exit(ctx: &Ctx<'_>, raise: Node<'_>) -> bool {
    let Some(value) = raise.named_child(0) else { return false };
    let class = if value.kind() == "call" { value.child_by_field_name("function") } else { Some(value) };
    class.is_some_and(|c| matches!(ctx.text(c), "SystemExit" | "KeyboardInterrupt"))
}

/// Conditions between `n` and the loop body; the innermost `except` clause;
/// whether `n` sits in a `try` body or its `else:` (both run only when no
/// exception was raised, so an exit there depends on the call succeeding).
fn guards_of<'t>(n: Node<'t>, body: Node<'t>) -> (Vec<Node<'t>>, Option<Node<'t>>, bool) {
    let mut guards = Vec::new();
    let mut handler = None;
    let mut in_try = false;
    let mut child = n;
    let mut cur = n.parent();
    while let Some(p) = cur {
        if p.id() == body.id() {
            break;
        }
        match p.kind() {
            "if_statement" | "elif_clause" | "while_statement" => {
                if let Some(c) = p.child_by_field_name("condition")
                    && c.id() != child.id()
                {
                    guards.push(c);
                }
            }
            "for_statement" | "case_clause" => guards.push(p),
            "except_clause" | "except_group_clause" if handler.is_none() => handler = Some(p),
            "try_statement" => {
                let in_body = p.child_by_field_name("body").is_some_and(|b| b.id() == child.id());
                in_try |= in_body || child.kind() == "else_clause";
            }
            _ => {}
        }
        child = p;
        cur = p.parent();
    }
    (guards, handler, in_try)
}

/// Whether the statement holding `call` is directly followed by leaving `lp`.
pub fn directly_leaves(lp: Node<'_>, call: Node<'_>) -> bool {
    let mut stmt = call;
    while let Some(p) = stmt.parent() {
        if p.kind() == "block" {
            break;
        }
        stmt = p;
    }
    let mut next = stmt.next_named_sibling();
    while let Some(n) = next.filter(|n| n.kind() == "comment") {
        next = n.next_named_sibling();
    }
    next.is_some_and(|n| match n.kind() {
        "return_statement" | "raise_statement" => true,
        "break_statement" => owner_loop(n).is_some_and(|o| o.id() == lp.id()),
        _ => false,
    })
}
