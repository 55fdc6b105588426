//! `bounded-retry`: unbounded `while True` wait loops become bounded retries.
//!
//! The documentation, options and query live in `transforms/bounded-retry.toml`;
//! [`classify`] decides which loops are unbounded waits (with [`exits`] and
//! [`bounds`]); [`render`] writes the rewrite; this file ties them together
//! and owns the per-file choices: the name of the `time` module and the
//! names each loop introduces.

mod bounds;
pub mod classify;
mod exits;
mod inputs;
mod paths;
mod render;
mod shape;

use std::collections::{HashMap, HashSet};

use tree_sitter::Node;

use classify::Class;

use crate::pipeline::edits::HeaderItem;
use crate::python::enclosing_function_in;
use crate::transforms::{Ctx, ExceptionRef, Finding, FindingKind, OptionError, OptionValues, Spec, Transform, opt};

/// The query captures [`BoundedRetry::run`] reads.
pub const CAPTURES: &[&str] = &["loop"];

pub struct BoundedRetry {
    spec: &'static Spec,
    max_attempts: i64,
    deadline: f64,
    raise: bool,
    exception: ExceptionRef,
    config: classify::Config,
}

pub fn build(spec: &'static Spec, options: &OptionValues) -> Result<Box<dyn Transform>, OptionError> {
    let err =
        |option: &str, problem: String| OptionError { transform: spec.id.clone(), option: option.into(), problem };
    let max_attempts = opt(options, spec, "max_attempts").as_integer().unwrap_or(0);
    if max_attempts < 1 {
        return Err(err("max_attempts", format!("must be at least 1, got {max_attempts}")));
    }
    let deadline = opt(options, spec, "deadline").as_float().unwrap_or(0.0);
    if !(deadline.is_finite() && deadline > 0.0) {
        return Err(err("deadline", format!("must be a positive number of seconds, got {deadline}")));
    }
    let raise = match opt(options, spec, "on_exhaust").as_str() {
        Some("raise") => true,
        Some("break") => false,
        other => {
            return Err(err("on_exhaust", format!("must be \"raise\" or \"break\", got {:?}", other.unwrap_or(""))));
        }
    };
    let exception =
        ExceptionRef::parse(opt(options, spec, "exception").as_str().unwrap_or("")).map_err(|p| err("exception", p))?;
    let sleep_functions: Vec<String> = opt(options, spec, "sleep_functions")
        .as_array()
        .map(|a| {
            a.iter().filter_map(|v| v.as_str()).map(str::trim).filter(|s| !s.is_empty()).map(str::to_owned).collect()
        })
        .unwrap_or_default();
    if let Some(bad) = sleep_functions
        .iter()
        .find(|f| !f.split('.').all(|p| !p.is_empty() && p.chars().all(|c| c == '_' || c.is_alphanumeric())))
    {
        return Err(err("sleep_functions", format!("must be dotted names such as `self._sleep`, got {bad:?}")));
    }
    let config = classify::Config { sleep_functions };
    Ok(Box::new(BoundedRetry { spec, max_attempts, deadline, raise, exception, config }))
}

/// A loop classified as an unbounded wait, ready to render.
pub(crate) struct Candidate<'t> {
    lp: Node<'t>,
    cond: Node<'t>,
    /// `while True:` (the condition becomes the budget) or a condition of
    /// its own (kept; the budget is checked at the top of the body).
    forever: bool,
    sleeps: Vec<classify::Sleep<'t>>,
    exit: Node<'t>,
}

impl Transform for BoundedRetry {
    fn spec(&self) -> &'static Spec {
        self.spec
    }

    /// A site is a loop that leaves when what it waits for happens: by
    /// `break` or `return` ([`classify::classify`]: a `while True:` loop
    /// that can only raise is a watchdog, one that never leaves a service
    /// loop), or by its own condition (`while not done:`), so the
    /// definition holding it spells `break`, `return`, or `while` followed
    /// by something other than `True`/`1`.
    fn site_context(&self, _text: &[u8]) -> Option<&regex::bytes::Regex> {
        static LEAVES: std::sync::OnceLock<regex::bytes::Regex> = std::sync::OnceLock::new();
        Some(LEAVES.get_or_init(|| {
            regex::bytes::Regex::new(concat!(
                r"(?-u)break|return",
                // `while` then a condition that does not start with `True` or a number...
                r"|\bwhile(?:[ \t\f\r\n\\(]|#[^\r\n]*)*(?:[^ \t\f\r\n\\(#T0-9]|T(?:[^r]|r(?:[^u]|u(?:[^e]|e[A-Za-z0-9_]))))",
                // ...or goes on after it (`while True and not done:`, `while 1.5:`).
                r"|\bwhile(?:[ \t\f\r\n\\(]|#[^\r\n]*)*(?:True|[0-9][0-9_]*)(?:[ \t\f\r\n\\)]|#[^\r\n]*)*[^ \t\f\r\n\\):#]",
            ))
                .expect("valid regex")
        }))
    }

    fn run(&self, ctx: &Ctx<'_>, out: &mut Vec<Finding>) {
        let mut todo = Vec::new();
        for lp in ctx.captures(self.spec, "loop") {
            let Some(cond) = lp.child_by_field_name("condition") else { continue };
            let forever = classify::is_forever(ctx, cond);
            match classify::classify(ctx, lp, &self.config) {
                Class::NotCandidate => {}
                Class::Skip { class, evidence } => out.push(left_alone(ctx, lp, class, evidence)),
                Class::Unbounded { sleeps, exit } => todo.push(Candidate { lp, cond, forever, sleeps, exit }),
            }
        }
        if todo.is_empty() {
            return;
        }
        let time = choose_time_alias(ctx, &todo);
        let mut names = LoopNames::default();
        for c in &todo {
            match self.render(ctx, c, &time, &mut names) {
                Ok(fix) => out.push(Finding {
                    transform: "bounded-retry",
                    range: c.lp.start_byte()..render::header_end(c.lp),
                    message: format!(
                        "unbounded wait loop in `{}` (leaves only when a condition holds, line {}): bound it to {} attempts and {} s",
                        ctx.qualified_name(c.lp),
                        c.exit.start_position().row + 1,
                        self.max_attempts,
                        render::fmt_seconds(self.deadline)
                    ),
                    kind: FindingKind::Site(fix),
                }),
                Err(why) => out.push(left_alone(ctx, c.lp, "unsupported", why)),
            }
        }
    }
}

fn left_alone(ctx: &Ctx<'_>, lp: Node<'_>, class: &str, evidence: String) -> Finding {
    let cond = lp.child_by_field_name("condition").map(|c| ctx.text(c)).unwrap_or("True");
    Finding {
        transform: "bounded-retry",
        range: lp.start_byte()..render::header_end(lp),
        message: format!("`while {cond}:` left alone: {class}"),
        kind: FindingKind::LeftAlone { class: class.to_owned(), evidence },
    }
}

/// The name through which every rewritten loop reaches the `time` module, and
/// the import to add if none does. One choice per file, so the rewrite adds
/// at most one import: an existing `import time [as x]` that reaches all the
/// loops; else `import time` if nothing binds `time` where the loops are
/// (a parameter or `from datetime import time` would); else `import time as
/// _time` under a name spelled nowhere in the file.
fn choose_time_alias(ctx: &Ctx<'_>, loops: &[Candidate<'_>]) -> (String, Option<HeaderItem>) {
    let r = ctx.resolver();
    let reaches = |name: &str, path: &str| loops.iter().all(|c| r.resolve_name(name, c.lp).as_deref() == Some(path));
    let mut aliases = r.module().module_aliases("time");
    aliases.insert(0, "time");
    if let Some(alias) = aliases.into_iter().find(|a| reaches(a, "time")) {
        return (alias.to_owned(), None);
    }
    // A plain `import time` must not give meaning to a `time.x` or `time(...)`
    // the module already spells without binding it (a second round would
    // then rewrite loops `check` never reported): alias it instead.
    static UNBOUND_USE: std::sync::OnceLock<regex::Regex> = std::sync::OnceLock::new();
    let used = || {
        UNBOUND_USE
            .get_or_init(|| regex::Regex::new(r"(^|[^.\w])time\s*[.(]").expect("valid regex"))
            .is_match(ctx.whole_file())
    };
    // (The search of the whole file last: it is needed least often.)
    if !r.module().binds("time") && reaches("time", "builtins.time") && !used() {
        return ("time".into(), Some(HeaderItem::Import { statement: "import time".into() }));
    }
    let alias = ctx.names().fresh("_time");
    let stmt = format!("import time as {alias}");
    (alias, Some(HeaderItem::Import { statement: stmt }))
}

/// Names a rewrite introduces (`_attempts`, `_deadline`): spelled nowhere in
/// the original file, and distinct within one function. Loops in different
/// functions reuse the same names, since each assignment makes a local of its
/// own function; two loops in one function get `_attempts` and `_attempts_2`.
#[derive(Default)]
pub(crate) struct LoopNames {
    by_scope: HashMap<usize, HashSet<String>>,
    ours: HashSet<String>,
}

impl LoopNames {
    /// Fresh names for `bases`, sharing one suffix (`_attempts_2` goes with
    /// `_deadline_2`) so a reader sees which belong together.
    pub(crate) fn fresh<const N: usize>(&mut self, ctx: &Ctx<'_>, at: Node<'_>, bases: [&str; N]) -> [String; N] {
        let scope = enclosing_function_in(ctx.root(), at).map_or(usize::MAX, |f| f.id());
        let mut names = ctx.names();
        let used = self.by_scope.entry(scope).or_default();
        let mut n = 1;
        loop {
            let candidates = bases.map(|b| if n == 1 { b.to_owned() } else { format!("{b}_{n}") });
            let free = |c: &String| !used.contains(c) && (!names.contains(c) || self.ours.contains(c));
            if candidates.iter().all(free) {
                for c in &candidates {
                    if !names.contains(c) {
                        // Reserve it against other transforms' new names.
                        names.fresh(c);
                    }
                    used.insert(c.clone());
                    self.ours.insert(c.clone());
                }
                return candidates;
            }
            n += 1;
        }
    }
}
