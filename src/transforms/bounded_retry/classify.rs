//! Classifying a `while True:` loop: wait loop to bound, or why to leave it.
//!
//! The analysis looks only at the loop's *own* body: sleeps and `break`s in
//! nested loops belong to those loops, and nothing inside nested functions,
//! lambdas or classes counts ([`super::exits`] collects the ways out,
//! [`super::bounds`] the evidence that something already limits the loop,
//! [`super::shape`] loops that iterate or outlive a process rather than wait).
//! The checks run from the most specific reason to leave a loop alone to the
//! most general, so `check --explain` shows the most telling evidence.

use crate::python::parse::KindFast;
use tree_sitter::Node;

use super::bounds::{self, first_line, line};
use super::exits::{self, Exit, ExitKind, owned_by};
use super::shape;
use crate::python::is_scope;
use crate::transforms::Ctx;

/// A sleep call in the loop's own body.
#[derive(Clone, Copy)]
pub struct Sleep<'t> {
    pub call: Node<'t>,
    /// The duration argument (positional or `seconds=`), if any.
    pub arg: Option<Node<'t>>,
    /// `sleep()` / `sleep(0)`: a cooperative yield, not a wait.
    pub is_yield: bool,
}

/// The verdict for one loop.
pub enum Class<'t> {
    /// Class 1: rewrite. `exit` is a representative condition-dependent exit;
    /// `sleeps` are the waits to clamp (cooperative yields are left as they are).
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

/// Whether `call` is a sleep, by resolved import path.
pub fn sleep_of<'t>(ctx: &Ctx<'t>, call: Node<'t>) -> Option<Sleep<'t>> {
    let func = call.child_by_field_name("function")?;
    // An attribute call is a sleep only if it is spelled `.sleep`; a bare name
    // may be an alias (`from time import sleep as nap`), so it is resolved.
    let plausible = match func.kind_fast() {
        // Only an import binds a bare name to a sleep: most calls (`len(x)`)
        // are ruled out without resolving the name through its scopes.
        "identifier" => ctx.resolver().imports_anywhere(ctx.text(func)),
        "attribute" => func.child_by_field_name("attribute").is_some_and(|a| ctx.text(a) == "sleep"),
        _ => false,
    };
    if !plausible {
        return None;
    }
    let path = ctx.resolver().resolve(func)?;
    let awaited = call.parent().is_some_and(|p| p.kind_fast() == "await");
    if !(SLEEPS.contains(&path.as_str()) || (path == "asyncio.sleep" && awaited)) {
        return None;
    }
    let args = call.child_by_field_name("arguments")?;
    let mut cursor = args.walk();
    let named: Vec<Node<'t>> = args.named_children(&mut cursor).filter(|n| n.kind_fast() != "comment").collect();
    let arg = named
        .first()
        .copied()
        .map(|a| if a.kind_fast() == "keyword_argument" { a.child_by_field_name("value").unwrap_or(a) } else { a });
    let is_yield = match arg {
        None => true,
        // A literal of a millisecond or less only lets other threads run: a
        // spin, which a bound counted in iterations would cut short at once.
        Some(a) => matches!(a.kind_fast(), "integer" | "float") && ctx.text(a).parse::<f64>().is_ok_and(|v| v <= 0.001),
    };
    Some(Sleep { call, arg, is_yield })
}

/// Classifies one `while True:` loop.
pub fn classify<'t>(ctx: &Ctx<'t>, lp: Node<'t>) -> Class<'t> {
    let Some(body) = lp.child_by_field_name("body") else { return Class::NotCandidate };
    // Own sleeps and yields: not in nested scopes (not walked) or nested loops.
    let mut sleeps = Vec::new();
    let mut nested_sleep: Option<Node<'t>> = None;
    let mut own_yield: Option<Node<'t>> = None;
    ctx.walk(
        body,
        |n| n.id() == body.id() || !is_scope(n.kind_fast()),
        |n| match n.kind_fast() {
            "call" => {
                if let Some(s) = sleep_of(ctx, n) {
                    if owned_by(lp, n) {
                        sleeps.push(s);
                    } else if nested_sleep.is_none() {
                        nested_sleep = Some(n);
                    }
                }
            }
            "yield" if own_yield.is_none() => own_yield = Some(n),
            _ => {}
        },
    );
    if sleeps.is_empty() {
        // Scope bodies were not walked above; any sleep there also belongs elsewhere.
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
    let waits: Vec<Sleep<'t>> = sleeps.iter().filter(|s| !s.is_yield).copied().collect();
    let Some(first_wait) = waits.first() else {
        return skip(
            NOT_A_WAIT,
            format!(
                "the sleep at line {} is a cooperative yield (`{}`)",
                line(sleeps[0].call),
                ctx.text(sleeps[0].call)
            ),
        );
    };
    if waits.iter().all(|s| exits::followed_by_leaving(lp, s.call)) {
        return skip(
            NOT_A_WAIT,
            format!(
                "every sleep is followed by leaving the loop (a back-off or pause before leaving, line {})",
                line(first_wait.call)
            ),
        );
    }
    let exits = exits::exits_of(ctx, lp, body);
    if let Some(ev) = bounds::enclosing_timeout(ctx, lp) {
        return skip(BOUNDED, ev);
    }
    if let Some(ev) = bounds::counter_bound(ctx, body, &exits) {
        return skip(BOUNDED, ev);
    }
    if let Some(ev) = bounds::time_bound(ctx, lp, &exits) {
        return skip(BOUNDED, ev);
    }
    if let Some(ev) = bounds::caller_timeout(ctx, lp) {
        return skip(BOUNDED, ev);
    }
    if let Some(y) = own_yield {
        return skip(
            SERVICE,
            format!("a generator loop: it yields at line {}, so its consumer decides how long it runs", line(y)),
        );
    }
    let leaving: Vec<&Exit<'t>> = exits.iter().filter(|e| e.leaves_on_condition()).collect();
    if let Some(ev) = leaving.iter().find_map(|e| shape::iterates(ctx, body, e)) {
        return skip(NOT_A_WAIT, ev);
    }
    if let Some(ev) = leaving.iter().find_map(|e| shape::outlives(ctx, body, e)) {
        return skip(SERVICE, ev);
    }
    let Some(first_leaving) = leaving.first() else {
        return skip(SERVICE, "never leaves except through an exception or a process exit".into());
    };
    // `run_forever`, `forever_retry`: the author says this loop is not meant to end.
    if ctx.qualified_name(lp).to_ascii_lowercase().contains("forever") {
        return skip(SERVICE, format!("runs in `{}`, whose name says it runs forever", ctx.qualified_name(lp)));
    }
    if let Some(e) = exits.iter().find(|e| !e.conditional && matches!(e.kind, ExitKind::Break | ExitKind::Return)) {
        return skip(NOT_A_WAIT, format!("leaves unconditionally after one pass (line {})", line(e.node)));
    }
    // A wait ends when what it waits for happens (`break`/`return`); a loop that
    // can only raise is watching for a failure, like a watchdog.
    if !leaving.iter().any(|e| matches!(e.kind, ExitKind::Break | ExitKind::Return)) {
        return skip(
            SERVICE,
            format!("leaves only by raising an error (line {}): a watchdog, not a wait", line(first_leaving.node)),
        );
    }
    // Exits on a stop command mean the loop's owner decides how long it runs.
    if let Some(e) = leaving.iter().find(|e| bounds::is_stop_exit(ctx, e)) {
        let g = e.guards.first().or(e.in_handler.as_ref()).copied().unwrap_or(e.node);
        let only = if leaving.iter().all(|e| bounds::is_stop_exit(ctx, e)) { "only " } else { "" };
        return skip(
            SERVICE,
            format!(
                "leaves {only}on a stop or shutdown condition (`{}` at line {}), so its owner decides how long it runs",
                first_line(ctx.text(g)),
                line(g)
            ),
        );
    }
    Class::Unbounded { exit: first_leaving.node, sleeps: waits }
}

fn any_sleep_in<'t>(ctx: &Ctx<'t>, body: Node<'t>) -> Option<Node<'t>> {
    let found = std::cell::Cell::new(None);
    ctx.walk(
        body,
        |_| found.get().is_none(),
        |n| {
            if found.get().is_none() && n.kind_fast() == "call" && sleep_of(ctx, n).is_some() {
                found.set(Some(n));
            }
        },
    );
    found.get()
}
