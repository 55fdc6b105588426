//! Classifying a `while` loop that sleeps: wait loop to bound, or why to leave it.
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
use super::inputs::Inputs;
use super::{paths, shape};
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
    // `hub.sleep(...)` with `from os_ken.lib import hub`: a module's own
    // sleep function (a wrapper of one of the known ones, by its name).
    let module_sleep = func.kind_fast() == "attribute"
        && path.ends_with(".sleep")
        && !path.starts_with("builtins.")
        && !path.starts_with("asyncio.");
    if !(SLEEPS.contains(&path.as_str()) || (path == "asyncio.sleep" && awaited) || module_sleep) {
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

/// What the user told tame about the project: more functions that sleep.
#[derive(Default)]
pub struct Config {
    /// Calls spelled so (`self._sleep`, `handler.sleep`) or whose resolved
    /// path ends so are sleeps too.
    pub sleep_functions: Vec<String>,
}

pub const WALLCLOCK: &str = "wallclock-bounded";
pub const PROGRESS: &str = "progress-loop";
pub const UNRESOLVED: &str = "unresolved-sleep";

/// A declared sleep (`--sleep-functions`), by its spelling or its resolved path.
fn declared_sleep<'t>(ctx: &Ctx<'t>, cfg: &Config, call: Node<'t>) -> Option<Sleep<'t>> {
    if cfg.sleep_functions.is_empty() {
        return None;
    }
    let func = call.child_by_field_name("function")?;
    let text = ctx.text(func);
    let path = if matches!(func.kind_fast(), "identifier" | "attribute") { ctx.resolver().resolve(func) } else { None };
    let declared = cfg
        .sleep_functions
        .iter()
        .any(|d| text == d || path.as_deref().is_some_and(|p| p == d || p.ends_with(&format!(".{d}"))));
    if !declared {
        return None;
    }
    let args = call.child_by_field_name("arguments")?;
    let mut cursor = args.walk();
    let first = args.named_children(&mut cursor).find(|n| n.kind_fast() != "comment");
    let arg = first
        .map(|a| if a.kind_fast() == "keyword_argument" { a.child_by_field_name("value").unwrap_or(a) } else { a });
    let is_yield = match arg {
        None => true,
        Some(a) => matches!(a.kind_fast(), "integer" | "float") && ctx.text(a).parse::<f64>().is_ok_and(|v| v <= 0.001),
    };
    Some(Sleep { call, arg, is_yield })
}

/// A call that looks like a sleep (`self._sleep(...)`, `net.sleep(...)`,
/// `util.sleep(...)`) but resolves to no known or declared sleep.
fn looks_like_sleep(ctx: &Ctx<'_>, call: Node<'_>) -> bool {
    let Some(func) = call.child_by_field_name("function") else { return false };
    let last = match func.kind_fast() {
        "identifier" => ctx.text(func),
        "attribute" => func.child_by_field_name("attribute").map(|a| ctx.text(a)).unwrap_or(""),
        _ => return false,
    };
    let last = last.trim_start_matches('_');
    if !(last == "sleep" || last.ends_with("_sleep")) {
        return false;
    }
    // A known function used otherwise (`asyncio.sleep(1)` not awaited
    // makes a coroutine and drops it) is not unresolved.
    match ctx.resolver().resolve(func) {
        None => true,
        Some(path) => path.starts_with("builtins."),
    }
}

/// `while True:`, `while 1:`, `while (True):`.
pub fn is_forever(ctx: &Ctx<'_>, cond: Node<'_>) -> bool {
    let mut c = cond;
    while c.kind_fast() == "parenthesized_expression" {
        match c.named_child(0) {
            Some(inner) => c = inner,
            None => return false,
        }
    }
    match c.kind_fast() {
        "true" => true,
        "integer" => ctx.text(c).parse::<i64>().is_ok_and(|v| v != 0),
        _ => false,
    }
}

/// Classifies one `while` loop.
pub fn classify<'t>(ctx: &Ctx<'t>, lp: Node<'t>, cfg: &Config) -> Class<'t> {
    let Some(body) = lp.child_by_field_name("body") else { return Class::NotCandidate };
    let cond = lp.child_by_field_name("condition").filter(|c| !is_forever(ctx, *c));
    // Own sleeps and yields: not in nested scopes (not walked) or nested loops.
    let mut sleeps = Vec::new();
    let mut nested_sleep: Option<Node<'t>> = None;
    let mut unresolved: Option<Node<'t>> = None;
    let mut own_yield: Option<Node<'t>> = None;
    ctx.walk(
        body,
        |n| n.id() == body.id() || !is_scope(n.kind_fast()),
        |n| match n.kind_fast() {
            "call" => {
                if let Some(s) = sleep_of(ctx, n).or_else(|| declared_sleep(ctx, cfg, n)) {
                    if owned_by(lp, n) {
                        sleeps.push(s);
                    } else if nested_sleep.is_none() {
                        nested_sleep = Some(n);
                    }
                } else if unresolved.is_none() && looks_like_sleep(ctx, n) && owned_by(lp, n) {
                    unresolved = Some(n);
                }
            }
            "yield" if own_yield.is_none() => own_yield = Some(n),
            _ => {}
        },
    );
    if sleeps.is_empty() {
        if let Some(u) = unresolved {
            return skip(
                UNRESOLVED,
                format!(
                    "the loop sleeps through `{}` (line {}), which tame cannot resolve to a known sleep; if it is one, name it in the `sleep_functions` option (--sleep-functions)",
                    first_line(ctx.text(u.child_by_field_name("function").unwrap_or(u))),
                    line(u)
                ),
            );
        }
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
    let wait_calls: Vec<Node<'t>> = waits.iter().map(|s| s.call).collect();
    if let Some((class, ev)) = repeat_bound(ctx, lp, body, cond, &wait_calls) {
        return skip(class, ev);
    }
    let conds: Vec<Node<'t>> = cond.into_iter().chain(exits.iter().flat_map(|e| e.guards.iter().copied())).collect();
    if let Some(ev) = bounds::caller_bound(ctx, lp, body, &conds) {
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
    if cond.is_none() && leaving.is_empty() {
        return skip(SERVICE, "never leaves except through an exception or a process exit".into());
    }
    if let Some(e) = exits.iter().find(|e| !e.conditional && matches!(e.kind, ExitKind::Break | ExitKind::Return)) {
        return skip(NOT_A_WAIT, format!("leaves unconditionally after one pass (line {})", line(e.node)));
    }
    let ends: Vec<&&Exit<'t>> =
        leaving.iter().filter(|e| matches!(e.kind, ExitKind::Break | ExitKind::Return)).collect();
    // A wait ends when what it waits for happens (its condition, a `break`
    // or `return`); a loop that can only raise is watching for a failure.
    if cond.is_none() && ends.is_empty() {
        let first = leaving.first().map_or(lp, |e| e.node);
        return skip(
            SERVICE,
            format!("leaves only by raising an error (line {}): a watchdog, not a wait", line(first)),
        );
    }
    if lp.has_error() {
        // Unreadable code: reported as a site, which the engine turns into a
        // `syntax-error` skip since it touches the region that did not parse.
        let exit = ends.first().map(|e| e.node).or(cond).unwrap_or(lp);
        return Class::Unbounded { exit, sleeps: waits };
    }
    let mut inputs = Inputs::new(ctx, lp);
    if let Some(c) = cond {
        inputs.condition(c);
    }
    for e in &ends {
        if bounds::is_stop_handler(ctx, e) {
            inputs.stop_handler(e.in_handler.unwrap_or(e.node));
            continue;
        }
        for g in &e.guards {
            inputs.condition(*g);
        }
        if e.guards.is_empty() || e.in_handler.is_some() {
            inputs.outcome_of_calls(e.node);
        }
    }
    let v = inputs.verdict;
    let at = |n: Node<'t>| format!("`{}` at line {}", first_line(ctx.text(n)), line(n));
    if let Some(s) = v.stop {
        return skip(
            SERVICE,
            format!(
                "leaves on state the process owns and sets elsewhere ({}): a stop condition, so its owner decides how long it runs",
                at(s)
            ),
        );
    }
    if let Some(c) = v.consume {
        return skip(
            SERVICE,
            format!("a consumer: it leaves on what it takes from a queue ({}), not on a wait being over", at(c)),
        );
    }
    if let Some(d) = v.drain {
        return skip(
            PROGRESS,
            format!("works through a collection it drains ({}) and ends when the work runs out", at(d)),
        );
    }
    let Some(waited) = v.external else {
        return skip(
            NOT_A_WAIT,
            "its exits test only values the loop computes itself or that are fixed for it: nothing outside it is awaited"
                .into(),
        );
    };
    let exit = ends.first().map(|e| e.node).or(cond).unwrap_or(waited);
    Class::Unbounded { exit, sleeps: waits }
}

/// A counter or a clock checked on every path that repeats the loop, where
/// a failing check leaves it (see [`paths`]). Which class, and the evidence.
fn repeat_bound<'t>(
    ctx: &Ctx<'t>,
    lp: Node<'t>,
    body: Node<'t>,
    cond: Option<Node<'t>>,
    sleeps: &[Node<'t>],
) -> Option<(&'static str, String)> {
    let counters = bounds::counters(ctx, body);
    let mut evidence: Vec<(String, String)> = Vec::new();
    let mut facts_of = |c: Node<'t>| -> Vec<String> {
        let mut out = Vec::new();
        if !counters.is_empty() {
            for name in bounds::expanded_references(ctx, body, c) {
                if counters.contains(&name) {
                    let fact = format!("counter {name}");
                    evidence
                        .push((fact.clone(), format!("`{name}` (counted in the loop) compared at line {}", line(c))));
                    out.push(fact);
                }
            }
        }
        if let Some((clock, ev)) = bounds::time_check(ctx, lp, c) {
            let fact = match clock {
                bounds::Clock::Monotonic => "clock monotonic",
                bounds::Clock::Wall => "clock wall",
            };
            evidence.push((fact.into(), ev));
            out.push(fact.into());
        }
        out
    };
    let entry: std::collections::BTreeSet<String> = cond.map(&mut facts_of).unwrap_or_default().into_iter().collect();
    let every = paths::on_every_repeat(ctx, lp, sleeps, entry, &mut facts_of);
    let ev = |fact: &str| evidence.iter().find(|(f, _)| f == fact).map(|(_, e)| e.clone()).unwrap_or_default();
    if let Some(f) = every.iter().find(|f| f.starts_with("counter ")) {
        return Some((BOUNDED, format!("bounded on every path that repeats: {}", ev(f))));
    }
    if every.contains("clock monotonic") {
        return Some((BOUNDED, format!("bounded on every path that repeats by {}", ev("clock monotonic"))));
    }
    if every.contains("clock wall") {
        return Some((
            WALLCLOCK,
            format!(
                "bounded on every path that repeats by wall-clock time: {} (a clock step can stretch it; not given a second bound)",
                ev("clock wall")
            ),
        ));
    }
    None
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

#[cfg(test)]
mod tests {
    use super::*;

    /// The verdict for the first `while` loop of `src`: `"rewrite"` or the skip class.
    fn verdict_with(src: &str, sleep_functions: &[&str]) -> String {
        let tree = crate::python::parse::parse(src).unwrap();
        let indent = crate::pipeline::source::Indent::known("    ");
        let ctx = Ctx::new(src, &tree, &indent, "\n");
        let lp = std::cell::Cell::new(None);
        crate::python::parse::walk(
            ctx.root(),
            |_| lp.get().is_none(),
            |n| {
                if lp.get().is_none() && n.kind_fast() == "while_statement" {
                    lp.set(Some(n));
                }
            },
        );
        let lp = lp.get();
        let cfg = Config { sleep_functions: sleep_functions.iter().map(|s| s.to_string()).collect() };
        match classify(&ctx, lp.expect("a while loop"), &cfg) {
            Class::Unbounded { .. } => "rewrite".into(),
            Class::Skip { class, .. } => class.into(),
            Class::NotCandidate => "none".into(),
        }
    }

    fn verdict(src: &str) -> String {
        verdict_with(src, &[])
    }

    fn func(body: &str) -> String {
        format!("import time\n\n\ndef f(dev, client, q, once):\n{body}")
    }

    #[test]
    fn awaited_state_is_a_wait() {
        // A call in the condition, a value fetched again, an object the loop does not own.
        assert_eq!(verdict(&func("    while not dev.is_job_complete():\n        time.sleep(1)\n")), "rewrite");
        assert_eq!(
            verdict(&func(
                "    s = client.status()\n    while s != 'ok':\n        time.sleep(1)\n        s = client.status()\n"
            )),
            "rewrite"
        );
        assert_eq!(
            verdict(&func("    while dev.power_state != 'off':\n        time.sleep(1)\n        dev.refresh()\n")),
            "rewrite"
        );
        // Names do not decide: a status compared with "RUNNING" is still awaited.
        assert_eq!(
            verdict(&func(
                "    while True:\n        if client.get().status == 'RUNNING':\n            break\n        time.sleep(1)\n"
            )),
            "rewrite"
        );
    }

    #[test]
    fn flags_the_process_owns_are_stop_conditions() {
        let method = |body: &str| format!("import time\n\n\nclass C:\n    def run(self):\n{body}");
        assert_eq!(
            verdict(&method("        while self._running:\n            self.beat()\n            time.sleep(1)\n")),
            SERVICE
        );
        assert_eq!(
            verdict(&method(
                "        while not self._stop.is_set():\n            self.beat()\n            time.sleep(1)\n"
            )),
            SERVICE
        );
        // Set to a constant in the loop before it leaves: still its owner's flag.
        assert_eq!(
            verdict(&method(
                "        while self.alive:\n            if self.check():\n                self.alive = False\n                return\n            time.sleep(1)\n"
            )),
            SERVICE
        );
        assert_eq!(verdict("import time\nDONE = False\n_done = False\nwhile not _done:\n    time.sleep(1)\n"), SERVICE);
    }

    #[test]
    fn drained_collections_and_queues_are_not_waits() {
        assert_eq!(verdict(&func("    while q:\n        q.pop()\n        time.sleep(1)\n")), PROGRESS);
        assert_eq!(
            verdict(&func(
                "    while True:\n        job = q.get()\n        if job is None:\n            return\n        time.sleep(1)\n"
            )),
            SERVICE
        );
        // Only fixed values (a parameter) decide: nothing is awaited.
        assert_eq!(
            verdict(&func(
                "    while True:\n        dev.report()\n        if once:\n            break\n        time.sleep(1)\n"
            )),
            NOT_A_WAIT
        );
    }

    #[test]
    fn bounds_on_every_repeating_path() {
        assert_eq!(
            verdict(&func(
                "    n = 0\n    while not dev.ready():\n        n += 1\n        if n > 5:\n            raise RuntimeError\n        time.sleep(1)\n"
            )),
            BOUNDED
        );
        // The attempts check guards the sleep; the other branch raises.
        assert_eq!(
            verdict(&func(
                "    n = 0\n    while True:\n        try:\n            return dev.call()\n        except OSError:\n            n += 1\n            if n < 5:\n                time.sleep(1)\n                continue\n            raise\n"
            )),
            BOUNDED
        );
        // A counter reset on every response bounds nothing.
        assert_eq!(
            verdict(&func(
                "    r = 3\n    while r > 0 and not dev.done():\n        if not dev.ok():\n            r -= 1\n            time.sleep(1)\n            continue\n        r = 3\n        time.sleep(1)\n"
            )),
            "rewrite"
        );
        // A check on one branch only leaves the other path unbounded.
        assert_eq!(
            verdict(&func(
                "    n = 0\n    while not dev.done():\n        if dev.failed():\n            n += 1\n            if n > 3:\n                raise RuntimeError\n        time.sleep(1)\n"
            )),
            "rewrite"
        );
    }

    #[test]
    fn clocks_and_callers() {
        assert_eq!(
            verdict(&func(
                "    end = time.monotonic() + 5\n    while time.monotonic() < end:\n        if dev.ready():\n            return\n        time.sleep(1)\n"
            )),
            BOUNDED
        );
        assert_eq!(
            verdict(&func(
                "    end = time.time() + 5\n    while time.time() < end:\n        if dev.ready():\n            return\n        time.sleep(1)\n"
            )),
            WALLCLOCK
        );
        let caller = "import time\n\n\ndef wait(dev, max_retry_count=None):\n    tries = 0\n    while not dev.ready():\n        if max_retry_count is not None and tries >= max_retry_count:\n            raise RuntimeError\n        time.sleep(1)\n";
        assert_eq!(verdict(caller), BOUNDED);
    }

    #[test]
    fn declared_and_unresolved_sleeps() {
        let src = "class C:\n    def wait(self, dev):\n        while not dev.ready():\n            self._sleep(1)\n";
        assert_eq!(verdict(src), UNRESOLVED);
        assert_eq!(verdict_with(src, &["self._sleep"]), "rewrite");
        // A module's own sleep function counts as a sleep.
        assert_eq!(
            verdict("from lib import hub\n\n\ndef f(dev):\n    while not dev.ready():\n        hub.sleep(1)\n"),
            "rewrite"
        );
    }
}
