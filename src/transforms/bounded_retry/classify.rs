//! Classifying a `while True:` loop: wait loop to bound, or why to leave it.
//!
//! The analysis looks only at the loop's *own* body: sleeps and `break`s in
//! nested loops belong to those loops, and nothing inside nested functions,
//! lambdas or classes counts. `return` and `raise` in nested loops do leave
//! this loop, so they count as its exits.

use regex::Regex;
use std::sync::OnceLock;
use tree_sitter::Node;

use crate::parse::walk;
use crate::python::is_scope;
use crate::transforms::Ctx;

/// A sleep call in the loop's own body.
pub struct Sleep<'t> {
    pub call: Node<'t>,
    /// The duration argument (positional or `seconds=`), if any.
    pub arg: Option<Node<'t>>,
    /// `sleep()` / `sleep(0)`: a cooperative yield, not a wait.
    pub is_yield: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ExitKind {
    Break,
    Return,
    Raise { bare: bool },
}

/// A statement that leaves the loop, and what it depends on.
struct Exit<'t> {
    node: Node<'t>,
    kind: ExitKind,
    /// Conditions on the way from the loop body to the exit (`if`, `elif`,
    /// nested `while`), and, for exits after a `continue`, that one's.
    guards: Vec<Node<'t>>,
    in_handler: Option<Node<'t>>,
    conditional: bool,
}

/// The verdict for one loop.
pub enum Class<'t> {
    /// Class 1: rewrite. `exit` is a representative condition-dependent exit.
    Unbounded { sleeps: Vec<Sleep<'t>>, exit: Node<'t> },
    /// Classes 2, 3, 4: leave alone, with the reason.
    Skip { class: &'static str, evidence: String },
    /// Not a candidate at all (no sleep anywhere in the loop).
    NotCandidate,
}

fn skip<'t>(class: &'static str, evidence: String) -> Class<'t> {
    Class::Skip { class, evidence }
}

pub const BOUNDED: &str = "already-bounded";
pub const SERVICE: &str = "service-loop";
pub const NOT_A_WAIT: &str = "not-a-wait";

const SLEEPS: &[&str] = &["time.sleep", "eventlet.sleep", "eventlet.greenthread.sleep", "gevent.sleep"];

fn line(n: Node<'_>) -> usize {
    n.start_position().row + 1
}

/// Whether `call` is a sleep, by resolved import path.
pub fn sleep_of<'t>(ctx: &Ctx<'t>, call: Node<'t>) -> Option<Sleep<'t>> {
    let func = call.child_by_field_name("function")?;
    if !matches!(func.kind(), "identifier" | "attribute")
        || !ctx.text(func).contains("sleep") && func.kind() == "attribute"
    {
        return None;
    }
    let path = ctx.resolver().resolve(func)?;
    let awaited = call.parent().is_some_and(|p| p.kind() == "await");
    if !(SLEEPS.contains(&path.as_str()) || (path == "asyncio.sleep" && awaited)) {
        return None;
    }
    let args = call.child_by_field_name("arguments")?;
    let mut cursor = args.walk();
    let named: Vec<Node<'t>> = args.named_children(&mut cursor).filter(|n| n.kind() != "comment").collect();
    let arg = named
        .first()
        .copied()
        .map(|a| if a.kind() == "keyword_argument" { a.child_by_field_name("value").unwrap_or(a) } else { a });
    let is_yield = match arg {
        None => true,
        Some(a) => matches!(a.kind(), "integer" | "float") && ctx.text(a).parse::<f64>().is_ok_and(|v| v == 0.0),
    };
    Some(Sleep { call, arg, is_yield })
}

/// Classifies one `while True:` loop.
pub fn classify<'t>(ctx: &Ctx<'t>, lp: Node<'t>) -> Class<'t> {
    let Some(body) = lp.child_by_field_name("body") else { return Class::NotCandidate };
    if !ctx.text(lp).contains("sleep") {
        return Class::NotCandidate;
    }
    // Own sleeps: not in nested scopes or nested loops.
    let mut sleeps = Vec::new();
    let mut nested_sleep: Option<Node<'t>> = None;
    walk(
        body,
        |n| n.id() == body.id() || !is_scope(n.kind()),
        |n| {
            if n.kind() == "call" {
                if let Some(s) = sleep_of(ctx, n) {
                    if owner_loop(n).is_some_and(|o| o.id() == lp.id()) && enclosing_scope_within(n, lp).is_none() {
                        sleeps.push(s);
                    } else if nested_sleep.is_none() {
                        nested_sleep = Some(n);
                    }
                }
            }
        },
    );
    // Scope bodies were not walked above; any sleep there also belongs elsewhere.
    if sleeps.is_empty() {
        return match nested_sleep.or_else(|| any_sleep_in(ctx, body)) {
            Some(s) => skip(
                NOT_A_WAIT,
                format!(
                    "the loop's own body does not sleep (the sleep at line {} belongs to a nested loop or function)",
                    line(s)
                ),
            ),
            None => Class::NotCandidate,
        };
    }
    let waits: Vec<&Sleep<'t>> = sleeps.iter().filter(|s| !s.is_yield).collect();
    if waits.is_empty() {
        return skip(
            NOT_A_WAIT,
            format!(
                "the sleep at line {} is a cooperative yield (`{}`)",
                line(sleeps[0].call),
                ctx.text(sleeps[0].call)
            ),
        );
    }
    let exits = exits_of(lp, body);
    if waits.iter().all(|s| directly_leaves(lp, s.call)) {
        return skip(
            NOT_A_WAIT,
            format!(
                "every sleep is directly followed by leaving the loop (back-off before leaving, line {})",
                line(waits[0].call)
            ),
        );
    }
    if let Some(w) = enclosing_timeout(ctx, lp) {
        return skip(BOUNDED, format!("runs inside `with {}` at line {}", ctx.text(w), line(w)));
    }
    if let Some(ev) = counter_bound(ctx, body, &exits) {
        return skip(BOUNDED, ev);
    }
    if let Some(ev) = time_bound(ctx, lp, &exits) {
        return skip(BOUNDED, ev);
    }
    let leaving: Vec<&Exit<'t>> = exits
        .iter()
        .filter(|e| e.conditional)
        .filter(|e| match e.kind {
            ExitKind::Break | ExitKind::Return => true,
            ExitKind::Raise { bare } => !bare && e.in_handler.is_none(),
        })
        .collect();
    if leaving.is_empty() {
        return skip(SERVICE, "never leaves except through an exception or a process exit".into());
    }
    if let Some(e) = exits.iter().find(|e| !e.conditional && matches!(e.kind, ExitKind::Break | ExitKind::Return)) {
        return skip(NOT_A_WAIT, format!("leaves unconditionally after one pass (line {})", line(e.node)));
    }
    if leaving.iter().all(|e| is_stop_exit(ctx, e)) {
        let g = leaving[0].guards.first().or(leaving[0].in_handler.as_ref()).copied().unwrap_or(leaving[0].node);
        return skip(
            SERVICE,
            format!("leaves only on a stop or shutdown condition (`{}` at line {})", first_line(ctx.text(g)), line(g)),
        );
    }
    Class::Unbounded {
        sleeps: waits.into_iter().map(|s| Sleep { call: s.call, arg: s.arg, is_yield: false }).collect(),
        exit: leaving[0].node,
    }
}

fn first_line(s: &str) -> &str {
    s.lines().next().unwrap_or(s).trim()
}

fn any_sleep_in<'t>(ctx: &Ctx<'t>, body: Node<'t>) -> Option<Node<'t>> {
    let found = std::cell::Cell::new(None);
    walk(
        body,
        |_| found.get().is_none(),
        |n| {
            if found.get().is_none() && n.kind() == "call" && sleep_of(ctx, n).is_some() {
                found.set(Some(n));
            }
        },
    );
    found.get()
}

/// The innermost loop (`while`/`for`) around `n`, stopping at scopes.
fn owner_loop(n: Node<'_>) -> Option<Node<'_>> {
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

/// A scope node between `n` and `lp`, if any.
fn enclosing_scope_within<'t>(n: Node<'t>, lp: Node<'t>) -> Option<Node<'t>> {
    let mut cur = n.parent();
    while let Some(p) = cur {
        if p.id() == lp.id() {
            return None;
        }
        if is_scope(p.kind()) {
            return Some(p);
        }
        cur = p.parent();
    }
    None
}

fn exits_of<'t>(lp: Node<'t>, body: Node<'t>) -> Vec<Exit<'t>> {
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
                "raise_statement" => ExitKind::Raise { bare: n.named_child_count() == 0 },
                "continue_statement" => {
                    let (guards, handler, in_try) = guards_of(n, body);
                    let mut g = guards;
                    g.extend(handler);
                    let _ = in_try;
                    continues.push((n, g));
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

/// Conditions between `n` and the loop body; the innermost `except` clause;
/// whether `n` sits in a `try` body.
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
                if let Some(c) = p.child_by_field_name("condition") {
                    if c.id() != child.id() {
                        guards.push(c);
                    }
                }
            }
            "for_statement" | "case_clause" => guards.push(p),
            "except_clause" | "except_group_clause" if handler.is_none() => handler = Some(p),
            "try_statement" if p.child_by_field_name("body").is_some_and(|b| b.id() == child.id()) => in_try = true,
            _ => {}
        }
        child = p;
        cur = p.parent();
    }
    (guards, handler, in_try)
}

/// Whether the statement holding `call` is directly followed by an exit.
fn directly_leaves(lp: Node<'_>, call: Node<'_>) -> bool {
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

fn enclosing_timeout<'t>(ctx: &Ctx<'t>, lp: Node<'t>) -> Option<Node<'t>> {
    let mut cur = lp.parent();
    while let Some(p) = cur {
        if is_scope(p.kind()) {
            return None;
        }
        if p.kind() == "with_statement" {
            let mut found = None;
            walk(
                p,
                |n| n.id() == p.id() || matches!(n.kind(), "with_clause" | "with_item" | "as_pattern"),
                |n| {
                    if found.is_none() && n.kind() == "call" {
                        let f = n.child_by_field_name("function").map(|f| ctx.text(f)).unwrap_or("");
                        if f.rsplit('.').next().is_some_and(|last| last.to_ascii_lowercase().contains("timeout")) {
                            found = Some(n);
                        }
                    }
                },
            );
            if found.is_some() {
                return found;
            }
        }
        cur = p.parent();
    }
    None
}

/// Names/attributes (`tries`, `self._retries`) referenced in `cond`.
fn references<'t>(ctx: &Ctx<'t>, cond: Node<'t>) -> Vec<(&'t str, Node<'t>)> {
    let mut out = Vec::new();
    walk(
        cond,
        |n| n.kind() != "attribute",
        |n| {
            if matches!(n.kind(), "identifier" | "attribute") {
                out.push((ctx.text(n), n));
            }
        },
    );
    out
}

fn counter_bound<'t>(ctx: &Ctx<'t>, body: Node<'t>, exits: &[Exit<'t>]) -> Option<String> {
    let mut counters: Vec<&str> = Vec::new();
    walk(
        body,
        |n| n.id() == body.id() || !is_scope(n.kind()),
        |n| {
            let left = match n.kind() {
                "augmented_assignment" => {
                    let op = n.child_by_field_name("operator").map(|o| ctx.text(o)).unwrap_or("");
                    if matches!(op, "+=" | "-=") { n.child_by_field_name("left") } else { None }
                }
                "assignment" => {
                    let (l, r) = (n.child_by_field_name("left"), n.child_by_field_name("right"));
                    match (l, r) {
                        (Some(l), Some(r))
                            if r.kind() == "binary_operator" && {
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
            if let Some(l) = left.filter(|l| matches!(l.kind(), "identifier" | "attribute")) {
                counters.push(ctx.text(l));
            }
        },
    );
    for e in exits {
        for g in &e.guards {
            for (name, n) in references(ctx, *g) {
                if counters.contains(&name) {
                    return Some(format!("bounded by `{name}` (incremented in the loop) compared at line {}", line(n)));
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

fn has_clock(ctx: &Ctx<'_>, n: Node<'_>) -> bool {
    let found = std::cell::Cell::new(false);
    walk(n, |_| !found.get(), |c| found.set(found.get() || (c.kind() == "call" && clock_call(ctx, c))));
    found.get()
}

/// A time bound in an exit condition: a deadline/timeout helper, or a clock
/// reading compared against a budget (a `timeout`/`deadline`-like name, or a
/// start time captured before the loop).
fn time_bound<'t>(ctx: &Ctx<'t>, lp: Node<'t>, exits: &[Exit<'t>]) -> Option<String> {
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
    let scope = crate::python::enclosing_function(lp).unwrap_or_else(|| ctx.root());
    for e in exits {
        for g in &e.guards {
            let helper_call = std::cell::Cell::new(None);
            walk(
                *g,
                |_| helper_call.get().is_none(),
                |c| {
                    if c.kind() == "call" {
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

/// Right-hand sides of assignments to `name` in `scope` (not nested scopes).
fn assignments_to<'t>(ctx: &Ctx<'t>, scope: Node<'t>, name: &str) -> Vec<Node<'t>> {
    let mut out = Vec::new();
    walk(
        scope,
        |n| n.id() == scope.id() || !is_scope(n.kind()),
        |n| {
            if n.kind() == "assignment" {
                if let (Some(l), Some(r)) = (n.child_by_field_name("left"), n.child_by_field_name("right")) {
                    if ctx.text(l) == name {
                        out.push(r);
                    }
                }
            }
        },
    );
    out
}

fn is_stop_exit(ctx: &Ctx<'_>, e: &Exit<'_>) -> bool {
    static STOP: OnceLock<Regex> = OnceLock::new();
    static HANDLER: OnceLock<Regex> = OnceLock::new();
    let stop =
        re(&STOP, r"(?i)(stop|shut_?down|shutting|terminat|\bquit|exit|running|alive|cancel|kill|closed|closing)");
    let handler = re(&HANDLER, r"(KeyboardInterrupt|SystemExit|GreenletExit|CancelledError)");
    e.guards.iter().any(|g| stop.is_match(ctx.text(*g)))
        || e.in_handler.is_some_and(|h| h.child_by_field_name("value").is_some_and(|v| handler.is_match(ctx.text(v))))
}
