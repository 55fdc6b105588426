//! Whether a check lies on every path that repeats a loop.
//!
//! A loop is bounded by a counter or a clock only if every path from the top
//! of its body back to the loop head (the end of the body, or a `continue`
//! of this loop) passes a check whose failing outcome leaves the loop. This
//! is a "must" analysis over the structured statements of the body: each
//! path carries the set of checks it has passed (a check is a condition,
//! identified by what it tests), and where paths join only the checks
//! common to all of them survive. Paths that leave the loop (`break`,
//! `return`, `raise`) drop out.
//!
//! Approximations, all on the side of "not on every path" (so a bound is
//! missed, never invented): a handler starts from the state at the start of
//! its `try` (what ran before the exception is unknown); a nested loop may
//! run zero times; a `match` without a wildcard may match nothing.

use std::collections::BTreeSet;

use tree_sitter::Node;

use super::exits::owned_by;
use crate::python::is_scope;
use crate::python::parse::KindFast;
use crate::transforms::Ctx;

/// What a check tests: a counter's name, or a clock.
pub type Fact = String;
type Facts = Option<BTreeSet<Fact>>;

/// The facts on the paths that have not slept yet in this pass, and on
/// those that have: only a pass that sleeps is a wait that repeats (a
/// pass that loops back at once is a retry the sleeps do not pace).
#[derive(Clone, Default)]
struct State(Facts, Facts);

impl State {
    fn none() -> State {
        State(None, None)
    }
    fn is_none(&self) -> bool {
        self.0.is_none() && self.1.is_none()
    }
}

fn meet1(a: Facts, b: Facts) -> Facts {
    match (a, b) {
        (None, x) | (x, None) => x,
        (Some(a), Some(b)) => Some(a.intersection(&b).cloned().collect()),
    }
}

fn meet(a: State, b: State) -> State {
    State(meet1(a.0, b.0), meet1(a.1, b.1))
}

fn add(state: &State, facts: &[Fact]) -> State {
    let f = |s: &Facts| {
        s.as_ref().map(|s| {
            let mut s = s.clone();
            s.extend(facts.iter().cloned());
            s
        })
    };
    State(f(&state.0), f(&state.1))
}

struct Walker<'c, 't, F> {
    ctx: &'c Ctx<'t>,
    lp: Node<'t>,
    /// The facts a condition establishes when it is tested where one of its
    /// outcomes leaves the loop.
    facts_of: F,
    /// The loop's own sleeps.
    sleeps: &'c [Node<'t>],
    /// The meet of the states at every back edge, of the passes that slept.
    back: Facts,
}

/// The facts that hold on every path from the top of `lp`'s body back to
/// its head. `entry` holds at the top of the body (what the `while`
/// condition checks); `facts_of(cond)` gives what a condition checks.
pub fn on_every_repeat<'t>(
    ctx: &Ctx<'t>,
    lp: Node<'t>,
    sleeps: &[Node<'t>],
    entry: BTreeSet<Fact>,
    facts_of: impl FnMut(Node<'t>) -> Vec<Fact>,
) -> BTreeSet<Fact> {
    let Some(body) = lp.child_by_field_name("body") else { return BTreeSet::new() };
    let mut w = Walker { ctx, lp, facts_of, sleeps, back: None };
    let end = w.block(body, State(Some(entry), None));
    w.back = meet1(w.back.take(), end.1);
    // No path repeats at all: every fact holds vacuously, but the caller
    // asks about bounds, and a loop that never repeats needs none; report
    // nothing rather than everything.
    w.back.unwrap_or_default()
}

impl<'c, 't, F: FnMut(Node<'t>) -> Vec<Fact>> Walker<'c, 't, F> {
    fn block(&mut self, block: Node<'t>, mut state: State) -> State {
        let mut cursor = block.walk();
        let stmts: Vec<Node<'t>> = block.named_children(&mut cursor).collect();
        for (i, s) in stmts.iter().enumerate() {
            if state.is_none() {
                break;
            }
            state = self.stmt(*s, state, &stmts[i + 1..]);
        }
        state
    }

    /// Whether `n` holds a statement that leaves this loop (a `break` of
    /// it, a `return` or a `raise`), not counting nested scopes.
    fn may_leave(&self, n: Node<'t>) -> bool {
        let found = std::cell::Cell::new(false);
        self.ctx.walk(
            n,
            |c| !found.get() && (c.id() == n.id() || !is_scope(c.kind_fast())),
            |c| match c.kind_fast() {
                "return_statement" | "raise_statement" => found.set(true),
                "break_statement" if owned_by(self.lp, c) => found.set(true),
                "call" if super::exits::terminal_call(self.ctx, c).is_some() => found.set(true),
                _ => {}
            },
        );
        found.get()
    }

    fn stmt(&mut self, s: Node<'t>, state: State, rest: &[Node<'t>]) -> State {
        match s.kind_fast() {
            "return_statement" | "raise_statement" => State::none(),
            "break_statement" => State::none(),
            "continue_statement" => {
                if owned_by(self.lp, s) {
                    self.back = meet1(self.back.take(), state.1);
                }
                State::none()
            }
            "if_statement" => {
                // A condition is a check when one of its outcomes can leave:
                // a branch that leaves, or (for the outcome that falls
                // through) the statements after the `if`.
                let leaves_after = rest.iter().any(|r| self.may_leave(*r));
                let mut conds = Vec::new();
                let mut branches = Vec::new();
                let mut has_else = false;
                conds.extend(s.child_by_field_name("condition"));
                branches.extend(s.child_by_field_name("consequence"));
                let mut cursor = s.walk();
                for alt in s.children_by_field_name("alternative", &mut cursor) {
                    match alt.kind_fast() {
                        "elif_clause" => {
                            conds.extend(alt.child_by_field_name("condition"));
                            branches.extend(alt.child_by_field_name("consequence"));
                        }
                        "else_clause" => {
                            has_else = true;
                            branches.extend(alt.child_by_field_name("body"));
                        }
                        _ => {}
                    }
                }
                let leaves = leaves_after || branches.iter().any(|b| self.may_leave(*b));
                let facts: Vec<Fact> =
                    if leaves { conds.iter().flat_map(|c| (self.facts_of)(*c)).collect() } else { Vec::new() };
                let entered = add(&state, &facts);
                let mut out = if has_else { State::none() } else { entered.clone() };
                for b in branches {
                    let o = self.block(b, entered.clone());
                    out = meet(out, o);
                }
                out
            }
            "try_statement" => {
                let mut out = State::none();
                let mut normal = state.clone();
                let mut finally = None;
                let mut cursor = s.walk();
                let children: Vec<Node<'t>> = s.named_children(&mut cursor).collect();
                if let Some(b) = s.child_by_field_name("body") {
                    normal = self.block(b, state.clone());
                }
                for c in children {
                    match c.kind_fast() {
                        "except_clause" | "except_group_clause" => {
                            let body = c.named_children(&mut c.walk()).find(|n| n.kind_fast() == "block");
                            if let Some(b) = body {
                                // The exception may come before or after a
                                // sleep in the `try` body.
                                let body_sleeps = s.child_by_field_name("body").is_some_and(|b| {
                                    self.sleeps
                                        .iter()
                                        .any(|c| b.start_byte() <= c.start_byte() && c.end_byte() <= b.end_byte())
                                });
                                let entry = if body_sleeps {
                                    State(state.0.clone(), meet1(state.0.clone(), state.1.clone()))
                                } else {
                                    state.clone()
                                };
                                let o = self.block(b, entry);
                                out = meet(out, o);
                            }
                        }
                        "else_clause" => {
                            if let Some(b) = c.child_by_field_name("body") {
                                normal = self.block(b, normal);
                            }
                        }
                        "finally_clause" => {
                            finally = c.named_children(&mut c.walk()).find(|n| n.kind_fast() == "block")
                        }
                        _ => {}
                    }
                }
                out = meet(out, normal);
                match finally {
                    Some(f) if !out.is_none() => self.block(f, out),
                    _ => out,
                }
            }
            "with_statement" => {
                // A re-raise block (`save_and_reraise_exception`) leaves
                // unless its conditions say otherwise: they are checks.
                let mut st = state;
                if super::exits::reraise_block(self.ctx, s) {
                    let facts: Vec<Fact> = super::exits::reraise_conditions(self.ctx, s)
                        .into_iter()
                        .flat_map(|c| (self.facts_of)(c))
                        .collect();
                    st = add(&st, &facts);
                }
                match s.child_by_field_name("body") {
                    Some(b) => self.block(b, st),
                    None => st,
                }
            }
            "for_statement" | "while_statement" => {
                // Its body may run zero times; `continue`s in it are its own.
                let mut cursor = s.walk();
                let children: Vec<Node<'t>> = s.named_children(&mut cursor).collect();
                let mut out = state.clone();
                // Only its `else:` runs in sequence (or not at all, after a `break`).
                for c in children {
                    if c.kind_fast() == "else_clause"
                        && let Some(b) = c.child_by_field_name("body")
                    {
                        out = meet(self.block(b, state.clone()), state.clone());
                    }
                }
                out
            }
            "match_statement" => {
                let mut out = state.clone();
                let found: Vec<Node<'t>> = match s.child_by_field_name("body") {
                    Some(b) => b.named_children(&mut b.walk()).filter(|n| n.kind_fast() == "case_clause").collect(),
                    None => Vec::new(),
                };
                for case in found {
                    if let Some(b) = case.child_by_field_name("consequence") {
                        out = meet(out, self.block(b, state.clone()));
                    }
                }
                out
            }
            "expression_statement" if is_terminal(self.ctx, s) => State::none(),
            // `assert cond`: a check whose failing outcome raises.
            "assert_statement" => {
                let facts: Vec<Fact> = s.named_child(0).map(|c| (self.facts_of)(c)).unwrap_or_default();
                add(&state, &facts)
            }
            _ if self.sleeps.iter().any(|c| s.start_byte() <= c.start_byte() && c.end_byte() <= s.end_byte()) => {
                State(None, meet1(state.0, state.1))
            }
            _ => state,
        }
    }
}

/// `sys.exit(...)`, `os._exit(...)`, `self.fail(...)`: a call statement that never returns.
fn is_terminal(ctx: &Ctx<'_>, s: Node<'_>) -> bool {
    s.named_child(0).filter(|c| c.kind_fast() == "call").is_some_and(|c| super::exits::terminal_call(ctx, c).is_some())
}
