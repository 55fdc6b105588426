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

/// Counters of the loop: names or attributes changed by `+= k`, `-= k` or
/// `x = x + k` in its body, and assigned nothing else there (a counter
/// reset in the loop, `retry = 3` on every response, bounds nothing).
pub fn counters<'t>(ctx: &Ctx<'t>, body: Node<'t>) -> Vec<&'t str> {
    let mut counted: Vec<&str> = Vec::new();
    let mut other: Vec<&str> = Vec::new();
    ctx.walk(
        body,
        |n| n.id() == body.id() || !is_scope(n.kind_fast()),
        |n| match n.kind_fast() {
            "augmented_assignment" => {
                let op = n.child_by_field_name("operator").map(|o| ctx.text(o)).unwrap_or("");
                if let Some(l) = n.child_by_field_name("left") {
                    if matches!(op, "+=" | "-=" | "*=" | "/=" | "<<=") {
                        counted.push(ctx.text(l));
                    } else {
                        other.push(ctx.text(l));
                    }
                }
            }
            "assignment" => {
                let (Some(l), Some(r)) = (n.child_by_field_name("left"), n.child_by_field_name("right")) else {
                    return;
                };
                let (lt, t) = (ctx.text(l), ctx.text(r));
                let steps = r.kind_fast() == "binary_operator"
                    && (t.starts_with(lt) || t.ends_with(lt))
                    && (t.contains('+') || t.contains('-'));
                if steps {
                    counted.push(lt);
                } else {
                    other.push(lt);
                    if matches!(l.kind_fast(), "pattern_list" | "tuple_pattern") {
                        let mut c = l.walk();
                        other.extend(l.named_children(&mut c).map(|x| ctx.text(x)));
                    }
                }
            }
            _ => {}
        },
    );
    counted.retain(|c| !other.contains(c));
    counted.sort_unstable();
    counted.dedup();
    counted
}

/// The names and attributes `cond` reads, and, through locals assigned in
/// `body` (a few levels), what those read: `should_retry` in
/// `should_retry = tries_left > 0` reads `tries_left`.
pub fn expanded_references<'t>(ctx: &Ctx<'t>, body: Node<'t>, cond: Node<'t>) -> Vec<&'t str> {
    let mut out: Vec<&'t str> = references(ctx, cond).into_iter().map(|(n, _)| n).collect();
    let mut i = 0;
    while i < out.len() && out.len() < 64 {
        let name = out[i];
        let values = assignments_to(ctx, body, name);
        // Only through a local with one meaning: `pct` assigned both a
        // fetched value and a count-based guess reads no counter for sure.
        if values.len() == 1 {
            for rhs in values {
                for (r, _) in references(ctx, rhs) {
                    if !out.contains(&r) {
                        out.push(r);
                    }
                }
            }
        }
        i += 1;
    }
    out
}

/// Which clock a time bound reads.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Clock {
    /// `time.monotonic()`, `perf_counter()`, a loop's or timer's clock, a helper.
    Monotonic,
    /// `time.time()`, `datetime.now()`, `utcnow()`: a step of the clock moves the bound.
    Wall,
}

fn re(cell: &'static OnceLock<Regex>, pat: &str) -> &'static Regex {
    cell.get_or_init(|| Regex::new(pat).expect("valid regex"))
}

fn clock_of(ctx: &Ctx<'_>, call: Node<'_>) -> Option<Clock> {
    static CLOCK: OnceLock<Regex> = OnceLock::new();
    static WALL: OnceLock<Regex> = OnceLock::new();
    let f = call.child_by_field_name("function").map(|f| ctx.text(f)).unwrap_or("");
    if !re(&CLOCK, r"(^|\.)(time|monotonic|monotonic_ns|time_ns|perf_counter|perf_counter_ns|utcnow|now|today|utcnow_ts|clock|times)$")
        .is_match(f)
    {
        return None;
    }
    let wall = re(&WALL, r"(^|\.)(utcnow|now|today|utcnow_ts|time_ns)$").is_match(f)
        || f == "time.time"
        || f.ends_with(".time.time")
        || (f == "time"
            && ctx.resolver().resolve(call.child_by_field_name("function")?).as_deref() == Some("time.time"));
    Some(if wall { Clock::Wall } else { Clock::Monotonic })
}

fn clocks_in<'t>(ctx: &Ctx<'t>, n: Node<'t>, out: &mut Vec<Clock>) {
    ctx.walk(
        n,
        |c| !is_scope(c.kind_fast()),
        |c| {
            if c.kind_fast() == "call"
                && let Some(k) = clock_of(ctx, c)
            {
                out.push(k);
            }
        },
    );
}

/// Whether `g` compares elapsed time or a deadline: a deadline or timeout
/// helper (`timer.expired`, `timed_out(...)`), or a clock reading (in `g`
/// or in a local it reads) compared with a budget (a `timeout`-like name,
/// or a start time taken before the loop). Which clock, and the evidence.
pub fn time_check<'t>(ctx: &Ctx<'t>, lp: Node<'t>, g: Node<'t>) -> Option<(Clock, String)> {
    static HELPER: OnceLock<Regex> = OnceLock::new();
    static BUDGET: OnceLock<Regex> = OnceLock::new();
    let helper = re(
        &HELPER,
        r"(?i)(timed?_?out|expired?|deadline|time_?left|remaining|check_return|elapsed|is_older_than|is_newer_than)",
    );
    let budget = re(
        &BUDGET,
        r"(?i)(deadline|timeout|time_out|expir|elapsed|max_?(wait|time|duration)|end_?time|stop_?time|give_?up|time_?limit|limit)",
    );
    let scope = crate::python::enclosing_function_in(ctx.root(), lp).unwrap_or_else(|| ctx.root());
    let helper_use = std::cell::Cell::new(None);
    let mut called = Vec::new();
    ctx.walk(
        g,
        |c| helper_use.get().is_none() && !is_scope(c.kind_fast()),
        |c| {
            let f = match c.kind_fast() {
                "call" => {
                    called.extend(c.child_by_field_name("function").map(|f| f.id()));
                    c.child_by_field_name("function")
                }
                // `timer.expired`, `sw.expired`: a timer object's property.
                "attribute"
                    if !called.contains(&c.id())
                        && c.child_by_field_name("attribute").is_some_and(|a| {
                            matches!(
                                ctx.text(a),
                                "expired" | "is_expired" | "has_expired" | "timed_out" | "is_timed_out"
                            )
                        }) =>
                {
                    Some(c)
                }
                _ => None,
            };
            let f = f.map(|f| ctx.text(f)).unwrap_or("");
            if f.contains('.') || c.kind_fast() == "call" {
                let last = f.rsplit('.').next().unwrap_or(f);
                if helper.is_match(last) {
                    helper_use.set(Some(c));
                }
            }
        },
    );
    if let Some(c) = helper_use.get() {
        let mut clocks = Vec::new();
        clocks_in(ctx, g, &mut clocks);
        let clock = if clocks.contains(&Clock::Wall) { Clock::Wall } else { Clock::Monotonic };
        return Some((clock, format!("`{}` compared at line {}", first_line(ctx.text(c)), line(c))));
    }
    let mut clocks = Vec::new();
    clocks_in(ctx, g, &mut clocks);
    let mut budget_ref: Option<&str> = None;
    for (name, _) in references(ctx, g) {
        if budget.is_match(name) {
            budget_ref.get_or_insert(name);
        }
        // One level of locals: `now = time.time()`, `deadline = time.time() + t`.
        for rhs in assignments_to(ctx, scope, name) {
            let before = clocks.len();
            clocks_in(ctx, rhs, &mut clocks);
            if clocks.len() > before {
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
    match (clocks.first(), budget_ref) {
        (Some(_), Some(name)) => {
            let clock = if clocks.contains(&Clock::Wall) { Clock::Wall } else { Clock::Monotonic };
            Some((clock, format!("elapsed time (`{name}`) compared at line {}", line(g))))
        }
        _ => None,
    }
}

/// A limit the caller chose: a condition of the loop reads a parameter of
/// a function around it named for a budget (`timeout`, `max_wait`,
/// `max_retry_count`, `retries`): the API's choice, even when `None` means
/// forever.
pub fn caller_bound<'t>(ctx: &Ctx<'t>, lp: Node<'t>, body: Node<'t>, conds: &[Node<'t>]) -> Option<String> {
    static PARAM: OnceLock<Regex> = OnceLock::new();
    let param = re(
        &PARAM,
        r"(?i)(timeout|time_out|deadline|max_?(wait|time|duration|retr|tries|attempt|count|poll|iter|loop)|retries|attempts|tries|retry_count|wait_time|limit)",
    );
    let functions: Vec<Node<'t>> = crate::python::parse::ancestors(ctx.root(), lp)
        .into_iter()
        .filter(|n| n.kind_fast() == "function_definition")
        .collect();
    let params: Vec<&str> = functions
        .iter()
        .filter_map(|f| f.child_by_field_name("parameters"))
        .flat_map(|p| {
            let mut c = p.walk();
            p.named_children(&mut c)
                .filter_map(|x| match x.kind_fast() {
                    "identifier" => Some(x),
                    _ => x.child_by_field_name("name").or_else(|| x.named_child(0)),
                })
                .map(|x| ctx.text(x))
                .collect::<Vec<_>>()
        })
        .collect();
    for c in conds {
        for name in expanded_references(ctx, body, *c) {
            if params.contains(&name) && param.is_match(name) {
                return Some(format!(
                    "the caller controls the bound: `{name}` (a parameter) is checked at line {} (the API's choice, even if None means no limit)",
                    line(*c)
                ));
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

/// An exit in a handler of a stop or cancellation (`except GreenletExit:
/// break`, `KeyboardInterrupt`, `CancelledError`): its owner stops it.
pub fn is_stop_handler(ctx: &Ctx<'_>, e: &Exit<'_>) -> bool {
    static HANDLER: OnceLock<Regex> = OnceLock::new();
    let handler = re(&HANDLER, r"(KeyboardInterrupt|SystemExit|GreenletExit|CancelledError)");
    e.in_handler.is_some_and(|h| h.child_by_field_name("value").is_some_and(|v| handler.is_match(ctx.text(v))))
}
