//! `bounded-retry`: unbounded `while True` wait loops become bounded retries.
//!
//! The documentation, options and query live in `transforms/bounded-retry.toml`;
//! [`classify`] decides which loops are unbounded waits; this file renders
//! the rewrite:
//!
//! ```python
//! _attempts, _deadline = 0, time.monotonic() + 300.0      # inserted
//! while _attempts < 1000 and time.monotonic() < _deadline:  # was: while True:
//!     _attempts += 1                                       # inserted
//!     ...                                                  # body untouched,
//!     eventlet.sleep(max(0.0, min(wait, _deadline - time.monotonic())))  # but sleeps clamped
//! else:                                                    # inserted: runs only
//!     raise TimeoutError("f: gave up ...")                 # when the budget is spent
//! ```
//!
//! Only insertions and two in-place replacements: the body is never
//! re-indented, so comments and formatting survive byte for byte.

pub mod classify;

use tree_sitter::Node;

use classify::Class;

use crate::edits::{Applicability, Edit, Fix, HeaderItem};
use crate::python::{line_indent, line_start, next_line_start, qualified_name};
use crate::transforms::{Ctx, ExceptionRef, Finding, FindingKind, OptionError, OptionValues, Spec, Transform, opt};

pub struct BoundedRetry {
    spec: &'static Spec,
    max_attempts: i64,
    deadline: f64,
    raise: bool,
    exception: ExceptionRef,
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
    Ok(Box::new(BoundedRetry { spec, max_attempts, deadline, raise, exception }))
}

impl Transform for BoundedRetry {
    fn spec(&self) -> &'static Spec {
        self.spec
    }

    fn run(&self, ctx: &Ctx<'_>, out: &mut Vec<Finding>) {
        let mut time_alias: Option<(String, Option<HeaderItem>)> = None;
        for lp in ctx.captures(self.spec, "loop") {
            let Some(cond) = lp.child_by_field_name("condition") else { continue };
            if !is_forever(ctx, cond) {
                continue;
            }
            let skipped = |class: &str, evidence: String| Finding {
                transform: "bounded-retry",
                range: lp.start_byte()..header_end(lp),
                message: format!("`{}` left alone: {class}", ctx.text(cond)),
                kind: FindingKind::Skipped { class: class.to_owned(), evidence },
            };
            let (sleeps, exit) = match classify::classify(ctx, lp) {
                Class::NotCandidate => continue,
                Class::Skip { class, evidence } => {
                    out.push(skipped(class, evidence));
                    continue;
                }
                Class::Unbounded { sleeps, exit } => (sleeps, exit),
            };
            let time = time_alias.get_or_insert_with(|| choose_time_alias(ctx, lp)).clone();
            match self.render(ctx, lp, cond, &sleeps, &time) {
                Ok(fix) => out.push(Finding {
                    transform: "bounded-retry",
                    range: lp.start_byte()..header_end(lp),
                    message: format!(
                        "unbounded wait loop in `{}` (leaves only when a condition holds, line {}): bound it to {} attempts and {} s",
                        qualified_name(lp, ctx.src),
                        exit.start_position().row + 1,
                        self.max_attempts,
                        fmt_seconds(self.deadline)
                    ),
                    kind: FindingKind::Site(fix),
                }),
                Err(why) => out.push(skipped("unsupported", why)),
            }
        }
    }
}

/// `while True:`, `while 1:`, `while (True):`.
fn is_forever(ctx: &Ctx<'_>, cond: Node<'_>) -> bool {
    let mut c = cond;
    while c.kind() == "parenthesized_expression" {
        match c.named_child(0) {
            Some(inner) => c = inner,
            None => return false,
        }
    }
    match c.kind() {
        "true" => true,
        "integer" => ctx.text(c).parse::<i64>().is_ok_and(|v| v != 0),
        _ => false,
    }
}

/// End of the `while ...:` header (the colon).
fn header_end(lp: Node<'_>) -> usize {
    let mut c = lp.walk();
    let colon = lp.children(&mut c).find(|n| n.kind() == ":").map(|n| n.end_byte());
    colon.unwrap_or(lp.start_byte())
}

/// The name through which the loop reaches the `time` module, and the import
/// to add if none exists.
fn choose_time_alias(ctx: &Ctx<'_>, at: Node<'_>) -> (String, Option<HeaderItem>) {
    let r = ctx.resolver();
    for alias in r.module().module_aliases("time") {
        if r.resolve_name(alias, at).as_deref() == Some("time") {
            return (alias.to_owned(), None);
        }
    }
    let free = !ctx.names().contains("time")
        || (!r.module().binds("time") && r.resolve_name("time", at).as_deref() == Some("builtins.time"));
    if free {
        return ("time".into(), Some(HeaderItem::Import { statement: "import time".into() }));
    }
    let alias = ctx.names().fresh("_time");
    let stmt = format!("import time as {alias}");
    (alias, Some(HeaderItem::Import { statement: stmt }))
}

fn fmt_seconds(s: f64) -> String {
    if s.fract() == 0.0 { format!("{s:.0}") } else { format!("{s}") }
}

fn float_literal(s: f64) -> String {
    if s.fract() == 0.0 { format!("{s:.1}") } else { format!("{s}") }
}

impl BoundedRetry {
    fn render(
        &self,
        ctx: &Ctx<'_>,
        lp: Node<'_>,
        cond: Node<'_>,
        sleeps: &[classify::Sleep<'_>],
        (time, time_import): &(String, Option<HeaderItem>),
    ) -> Result<Fix, String> {
        let src = ctx.src;
        if lp.child_by_field_name("alternative").is_some() {
            return Err("the loop has an `else:` clause; rewrite it by hand".into());
        }
        let body = lp.child_by_field_name("body").ok_or("the loop has no body")?;
        let mut c = body.walk();
        let first = body.named_children(&mut c).find(|n| n.kind() != "comment").ok_or("the loop body is empty")?;
        if first.start_position().row == lp.start_position().row {
            return Err("the body is on the header's line; rewrite it by hand".into());
        }
        let resolver = ctx.resolver();
        if resolver.resolve_name(time, lp).as_deref() != Some("time") && time_import.is_none() {
            return Err(format!("`{time}` does not name the time module inside this function"));
        }
        let mut header = Vec::new();
        header.extend(time_import.clone());
        let exc_name = self.exception.name_at(ctx, lp, &mut header)?;
        let eol = ctx.eol;
        let indent = line_indent(src, lp.start_byte());
        let body_indent = line_indent(src, first.start_byte());
        let (attempts, deadline) = {
            let mut names = ctx.names();
            (names.fresh("_attempts"), names.fresh("_deadline"))
        };
        let now = format!("{time}.monotonic()");
        let mut edits = vec![
            Edit::insert(
                line_start(src, lp.start_byte()),
                format!("{indent}{attempts}, {deadline} = 0, {now} + {}{eol}", float_literal(self.deadline)),
            ),
            Edit::replace(cond.byte_range(), format!("{attempts} < {} and {now} < {deadline}", self.max_attempts)),
            Edit::insert(next_line_start(src, header_end(lp)), format!("{body_indent}{attempts} += 1{eol}")),
        ];
        for s in sleeps {
            let arg = s.arg.ok_or("a sleep without a duration")?;
            if matches!(arg.kind(), "list_splat" | "dictionary_splat" | "keyword_argument") {
                return Err(format!("cannot clamp the sleep argument `{}`", ctx.text(arg)));
            }
            edits
                .push(Edit::replace(arg.byte_range(), format!("max(0.0, min({}, {deadline} - {now}))", ctx.text(arg))));
        }
        if self.raise {
            let q = ctx.quote;
            let message = format!(
                "{}: gave up waiting after {} attempts or {} s",
                qualified_name(lp, src),
                self.max_attempts,
                fmt_seconds(self.deadline)
            )
            .replace('\\', "\\\\")
            .replace(q, &format!("\\{q}"));
            let at = loop_end(src, lp, indent.len());
            let lead = if at == src.len() && !src.ends_with(['\n', '\r']) { eol } else { "" };
            let tail = if lead.is_empty() { eol } else { "" };
            edits.push(Edit::insert(
                at,
                format!("{lead}{indent}else:{eol}{body_indent}raise {exc_name}({q}{message}{q}){tail}"),
            ));
        }
        Ok(Fix { edits, header, applicability: Applicability::Review })
    }
}

/// Where an `else:` clause goes: after the loop's last line, and after any
/// comment lines indented deeper than the loop (they read as part of its body).
fn loop_end(src: &str, lp: Node<'_>, indent_width: usize) -> usize {
    let mut at = next_line_start(src, lp.end_byte());
    let mut probe = at;
    while probe < src.len() {
        let next = next_line_start(src, probe);
        let line = &src[probe..next];
        let trimmed = line.trim_start_matches([' ', '\t']);
        let width = line.len() - trimmed.len();
        if trimmed.starts_with('#') && width > indent_width {
            at = next;
        } else if !trimmed.trim().is_empty() {
            break;
        }
        probe = next;
    }
    at
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn number_rendering() {
        assert_eq!(float_literal(300.0), "300.0");
        assert_eq!(float_literal(2.5), "2.5");
        assert_eq!(fmt_seconds(300.0), "300");
    }
}
