//! What already bounds a loop, or marks it as a service loop: the evidence
//! `check --explain` shows for loops left alone.
//!
//! - an enclosing `with ...Timeout(...)` block;
//! - a counter incremented in the loop and compared in an exit condition;
//! - elapsed time or a deadline compared in an exit condition, directly, via a
//!   local assigned from a clock read, or via a helper (`timed_out(...)`);
//! - exits that fire only on a stop or shutdown command.
//!
//! These are name heuristics on purpose: a false "bounded" leaves a loop
//! alone (a missed rewrite), while a false "unbounded" would put a second
//! bound on code that already has one, which a reviewer rejects.

use crate::python::parse::KindFast;
use regex::Regex;
use std::sync::OnceLock;
use tree_sitter::Node;

use super::exits::Exit;
use crate::python::parse::ancestors;
use crate::python::{enclosing_function_in, is_scope};
use crate::transforms::Ctx;

pub fn line(n: Node<'_>) -> usize {
    n.start_position().row + 1
}

pub fn first_line(s: &str) -> &str {
    s.lines().next().unwrap_or(s).trim()
}

/// A timeout around the loop: an enclosing `with ...Timeout(...)` block
/// (`eventlet.Timeout`, `LockTimeout`, `timeout(...)`), or a `*Timeout(...)`
/// object armed by a statement before the loop in the same function
/// (`eventlet.Timeout(5)` raises in the green thread when it fires).
pub fn enclosing_timeout<'t>(ctx: &Ctx<'t>, lp: Node<'t>) -> Option<String> {
    let last = |call: Node<'_>| {
        let f = call.child_by_field_name("function").map(|f| ctx.text(f)).unwrap_or("");
        f.rsplit('.').next().unwrap_or(f).to_owned()
    };
    // The ancestors innermost first, from one descent (a chain of `parent()`
    // or `prev_named_sibling()` calls would descend from the root each time).
    let mut child = lp;
    for p in ancestors(ctx.root(), lp).into_iter().rev() {
        if is_scope(p.kind_fast()) {
            return None;
        }
        if p.kind_fast() == "with_statement" {
            let mut found = None;
            ctx.walk(
                p,
                |n| n.id() == p.id() || matches!(n.kind_fast(), "with_clause" | "with_item" | "as_pattern"),
                |n| {
                    if found.is_none() && n.kind_fast() == "call" && last(n).to_ascii_lowercase().contains("timeout") {
                        found = Some(n);
                    }
                },
            );
            if let Some(w) = found {
                return Some(format!("runs inside `with {}` at line {}", first_line(ctx.text(w)), line(w)));
            }
        }
        if p.kind_fast() == "block" || p.kind_fast() == "module" {
            // The statements before `child`, nearest first.
            let mut cursor = p.walk();
            let before: Vec<Node<'_>> = p.named_children(&mut cursor).take_while(|s| s.id() != child.id()).collect();
            for s in before.into_iter().rev() {
                let call = match s.kind_fast() {
                    "expression_statement" => s.named_child(0).and_then(|e| match e.kind_fast() {
                        "assignment" => e.child_by_field_name("right"),
                        _ => Some(e),
                    }),
                    _ => None,
                };
                if let Some(c) = call.filter(|c| c.kind_fast() == "call" && last(*c).ends_with("Timeout")) {
                    return Some(format!(
                        "a timeout is armed before the loop (`{}` at line {})",
                        first_line(ctx.text(c)),
                        line(c)
                    ));
                }
            }
        }
        child = p;
    }
    None
}

/// A nested function whose caller bounds it: the enclosing function runs it
/// under `asyncio.wait_for(f(...), timeout)`. (Callers elsewhere are out of
/// sight; only this common test and helper shape is recognised.)
pub fn caller_timeout<'t>(ctx: &Ctx<'t>, lp: Node<'t>) -> Option<String> {
    let f = enclosing_function_in(ctx.root(), lp)?;
    let outer = enclosing_function_in(ctx.root(), f)?;
    let name = f.child_by_field_name("name").map(|n| ctx.text(n))?;
    let body = outer.child_by_field_name("body")?;
    let found = std::cell::Cell::new(None);
    ctx.walk(
        body,
        |n| found.get().is_none() && n.id() != f.id(),
        |n| {
            if n.kind_fast() != "call" || found.get().is_some() {
                return;
            }
            let func = n.child_by_field_name("function").map(|f| ctx.text(f)).unwrap_or("");
            let args = n.child_by_field_name("arguments").map(|a| ctx.text(a)).unwrap_or("");
            let calls_it = args.contains(&format!("{name}(")) || args.contains(&format!("{name}, "));
            if func.rsplit('.').next() == Some("wait_for") && calls_it && args.contains(',') {
                found.set(Some(n));
            }
        },
    );
    found.get().map(|c| format!("its caller bounds it: `{}` at line {}", first_line(ctx.text(c)), line(c)))
}

/// Names/attributes (`tries`, `self._retries`) referenced in `cond`.
fn references<'t>(ctx: &Ctx<'t>, cond: Node<'t>) -> Vec<(&'t str, Node<'t>)> {
    let mut out = Vec::new();
    ctx.walk(
        cond,
        |n| n.kind_fast() != "attribute",
        |n| {
            if matches!(n.kind_fast(), "identifier" | "attribute") {
                out.push((ctx.text(n), n));
            }
        },
    );
    out
}

pub fn counter_bound<'t>(ctx: &Ctx<'t>, body: Node<'t>, exits: &[Exit<'t>]) -> Option<String> {
    let mut counters: Vec<&str> = Vec::new();
    ctx.walk(
        body,
        |n| n.id() == body.id() || !is_scope(n.kind_fast()),
        |n| {
            let left = match n.kind_fast() {
                "augmented_assignment" => {
                    let op = n.child_by_field_name("operator").map(|o| ctx.text(o)).unwrap_or("");
                    if matches!(op, "+=" | "-=") { n.child_by_field_name("left") } else { None }
                }
                "assignment" => {
                    let (l, r) = (n.child_by_field_name("left"), n.child_by_field_name("right"));
                    match (l, r) {
                        (Some(l), Some(r))
                            if r.kind_fast() == "binary_operator" && {
                                let t = ctx.text(r);
                                let lt = ctx.text(l);
                                (t.starts_with(lt) || t.ends_with(lt)) && (t.contains('+') || t.contains('-'))
                            } =>
                        {
                            Some(l)
                        }
                        _ => None,
                    }
                }
                _ => None,
            };
            if let Some(l) = left.filter(|l| matches!(l.kind_fast(), "identifier" | "attribute")) {
                counters.push(ctx.text(l));
            }
        },
    );
    for e in exits {
        for g in &e.guards {
            for (name, n) in references(ctx, *g) {
                if counters.contains(&name) {
                    return Some(format!("bounded by `{name}` (counted in the loop) compared at line {}", line(n)));
                }
            }
        }
    }
    None
}

fn re(cell: &'static OnceLock<Regex>, pat: &str) -> &'static Regex {
    cell.get_or_init(|| Regex::new(pat).expect("valid regex"))
}

fn clock_call(ctx: &Ctx<'_>, call: Node<'_>) -> bool {
    static CLOCK: OnceLock<Regex> = OnceLock::new();
    let f = call.child_by_field_name("function").map(|f| ctx.text(f)).unwrap_or("");
    re(&CLOCK, r"(^|\.)(time|monotonic|monotonic_ns|time_ns|perf_counter|utcnow|now|utcnow_ts|clock)$").is_match(f)
}

fn has_clock<'t>(ctx: &Ctx<'t>, n: Node<'t>) -> bool {
    let found = std::cell::Cell::new(false);
    ctx.walk(n, |_| !found.get(), |c| found.set(found.get() || (c.kind_fast() == "call" && clock_call(ctx, c))));
    found.get()
}

/// A time bound in an exit condition: a deadline/timeout helper, or a clock
/// reading compared against a budget (a `timeout`/`deadline`-like name, or a
/// start time captured before the loop).
pub fn time_bound<'t>(ctx: &Ctx<'t>, lp: Node<'t>, exits: &[Exit<'t>]) -> Option<String> {
    static HELPER: OnceLock<Regex> = OnceLock::new();
    static BUDGET: OnceLock<Regex> = OnceLock::new();
    let helper = re(
        &HELPER,
        r"(?i)(timed?_?out|expired?|deadline|time_?left|remaining|check_return|elapsed|is_older_than|is_newer_than)",
    );
    let budget = re(
        &BUDGET,
        r"(?i)(deadline|timeout|time_out|expir|elapsed|max_?(wait|time|duration)|end_?time|stop_?time|give_?up|time_?limit)",
    );
    let scope = crate::python::enclosing_function_in(ctx.root(), lp).unwrap_or_else(|| ctx.root());
    for e in exits {
        for g in &e.guards {
            let helper_call = std::cell::Cell::new(None);
            ctx.walk(
                *g,
                |_| helper_call.get().is_none(),
                |c| {
                    if c.kind_fast() == "call" {
                        let f = c.child_by_field_name("function").map(|f| ctx.text(f)).unwrap_or("");
                        if helper.is_match(f.rsplit('.').next().unwrap_or(f)) {
                            helper_call.set(Some(c));
                        }
                    }
                },
            );
            if let Some(c) = helper_call.get() {
                return Some(format!("bounded by `{}` compared at line {}", first_line(ctx.text(c)), line(c)));
            }
            let mut clock = has_clock(ctx, *g);
            let mut budget_ref: Option<&str> = None;
            for (name, _) in references(ctx, *g) {
                if budget.is_match(name) {
                    budget_ref.get_or_insert(name);
                }
                // One level of locals: `now = time.time()`, `deadline = time.time() + t`.
                for rhs in assignments_to(ctx, scope, name) {
                    if has_clock(ctx, rhs) {
                        clock = true;
                        if rhs.end_byte() <= lp.start_byte() {
                            budget_ref.get_or_insert(name);
                        }
                        for (inner, _) in references(ctx, rhs) {
                            if budget.is_match(inner) {
                                budget_ref.get_or_insert(name);
                            }
                        }
                    }
                }
            }
            if let (true, Some(name)) = (clock, budget_ref) {
                return Some(format!("bounded by elapsed time (`{name}`) compared at line {}", line(*g)));
            }
        }
    }
    None
}

/// Whether `target` is a tuple target (`pid, status = ...`) naming `name`.
fn unpacks(ctx: &Ctx<'_>, target: Node<'_>, name: &str) -> bool {
    let mut c = target.walk();
    matches!(target.kind_fast(), "pattern_list" | "tuple_pattern")
        && target.named_children(&mut c).any(|t| ctx.text(t) == name)
}

/// Right-hand sides of assignments to `name` (alone or unpacked) in `scope` (not nested scopes).
pub fn assignments_to<'t>(ctx: &Ctx<'t>, scope: Node<'t>, name: &str) -> Vec<Node<'t>> {
    ctx.assignments(scope)
        .iter()
        .filter(|a| ctx.text(a.left) == name || unpacks(ctx, a.left, name))
        .map(|a| a.right)
        .collect()
}

pub fn is_stop_exit(ctx: &Ctx<'_>, e: &Exit<'_>) -> bool {
    static STOP: OnceLock<Regex> = OnceLock::new();
    static HANDLER: OnceLock<Regex> = OnceLock::new();
    let stop = re(
        &STOP,
        r"(?i)(stop|shut_?down|shutting|terminat|\bquit|(^|[^A-Za-z0-9_])_*(should_?|must_?)?exit(ing)?\b|running|cancel|kill|closed|closing)",
    );
    let handler = re(&HANDLER, r"(KeyboardInterrupt|SystemExit|GreenletExit|CancelledError)");
    e.guards.iter().any(|g| stop.is_match(ctx.text(*g)))
        || e.in_handler.is_some_and(|h| h.child_by_field_name("value").is_some_and(|v| handler.is_match(ctx.text(v))))
}
