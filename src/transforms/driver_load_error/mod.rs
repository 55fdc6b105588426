//! `driver-load-error`: `SystemExit` in driver loading becomes a typed exception.
//!
//! Documentation, options and query: `transforms/driver-load-error.toml`.
//! Precision is the point: most exits are legitimate. The analysis first
//! finds the driver-loading *regions*:
//! - functions named like loaders (`function_regex`), or registered as a
//!   stevedore failure callback;
//! - `except` handlers that catch a loading error around a [`loaders`] call
//!   whose driver name is not fixed in the source, outside entry points;
//! - the "no driver configured" checks before such a `try` (`if` statements
//!   testing the name the loader gets).
//!
//! Every exit inside a region is rewritten ([`render`]); every other exit is
//! reported as skipped with the reason, and the call sites of rewritten
//! functions are listed ([`callers`]), so `check --explain` shows both.

use crate::python::parse::KindFast;
mod callers;
mod context;
mod exits;
mod loaders;
pub mod pinned;
pub mod project;
mod render;

use std::collections::HashSet;

use regex::Regex;
use tree_sitter::Node;

use context::SiteContext;
use exits::{Exit, exit_of, is_success, shadowed_exit};
use loaders::{Loads, catches_load_error, driver_checks, driver_name, entry_point, loader_of, try_loads};
use render::{
    Around, Callback, HandlerNames, docstring, docstring_edit, enclosing_handler, exception_name, replacement,
};

use crate::pipeline::edits::{Applicability, Fix};
use crate::python::parse::ancestors;
use crate::python::{enclosing_function_in, is_scope};
use crate::transforms::{Ctx, ExceptionRef, Finding, FindingKind, OptionError, OptionValues, Spec, Transform, opt};

pub const ID: &str = "driver-load-error";

/// The query captures [`DriverLoadError::run`] reads.
pub const CAPTURES: &[&str] = &["callback", "handler", "function"];

pub struct DriverLoadError {
    spec: &'static Spec,
    /// `function_regex`; see [`DriverLoadError::function_regex`].
    function_pattern: String,
    function_regex: std::sync::OnceLock<Regex>,
    /// The default pattern with ASCII classes; see [`DriverLoadError::names_a_loader`].
    ascii_default: std::sync::OnceLock<Regex>,
    loaders: Vec<String>,
    exception: ExceptionRef,
    base: ExceptionRef,
    /// See [`DriverLoadError::site_context`]; built on first use, `None`
    /// with a `function_regex` of the user's.
    context: std::sync::OnceLock<Option<SiteContext>>,
}

pub fn build(spec: &'static Spec, options: &OptionValues) -> Result<Box<dyn Transform>, OptionError> {
    Ok(Box::new(DriverLoadError::new(spec, options)?))
}

impl DriverLoadError {
    fn new(spec: &'static Spec, options: &OptionValues) -> Result<DriverLoadError, OptionError> {
        let err =
            |option: &str, problem: String| OptionError { transform: spec.id.clone(), option: option.into(), problem };
        let pattern = opt(options, spec, "function_regex").as_str().unwrap_or("");
        let function_regex = std::sync::OnceLock::new();
        // A pattern of the user's is compiled now, so a bad one is reported
        // before any file is read. The default (whose Unicode `\w`s cost most of
        // a millisecond to compile) waits for the first driver-loading candidate,
        // which most runs never reach; a test checks that it compiles.
        let default = spec.options.iter().find(|o| o.name == "function_regex").and_then(|o| o.default.as_str());
        if default != Some(pattern) {
            let compiled = Regex::new(pattern).map_err(|e| err("function_regex", format!("invalid regex: {e}")))?;
            let _ = function_regex.set(compiled);
        }
        let loaders: Vec<String> = opt(options, spec, "loaders")
            .as_array()
            .map(|a| a.iter().filter_map(|v| v.as_str()).map(str::to_owned).collect())
            .unwrap_or_default();
        if loaders.iter().any(|l| l.is_empty()) {
            return Err(err("loaders", "entries must not be empty".into()));
        }
        let exception = ExceptionRef::parse(opt(options, spec, "exception").as_str().unwrap_or(""))
            .map_err(|p| err("exception", p))?;
        let base =
            ExceptionRef::parse(opt(options, spec, "base").as_str().unwrap_or("")).map_err(|p| err("base", p))?;
        Ok(DriverLoadError {
            spec,
            function_pattern: pattern.to_owned(),
            function_regex,
            ascii_default: std::sync::OnceLock::new(),
            loaders,
            exception,
            base,
            context: std::sync::OnceLock::new(),
        })
    }
}

/// Why a region is driver-loading code.
#[derive(Clone, Copy)]
enum Why<'t> {
    /// A function named like a loader.
    Named(Node<'t>),
    /// A stevedore failure callback.
    Callback(Callback, Node<'t>),
    /// An `except` handler around this loader call.
    Handler(Node<'t>),
    /// A check of the driver name before this loader call.
    Check(Node<'t>),
}

struct Region<'t> {
    /// The subtree holding the exits (a function body, a handler, an `if`).
    node: Node<'t>,
    why: Why<'t>,
}

impl Transform for DriverLoadError {
    fn spec(&self) -> &'static Spec {
        self.spec
    }

    /// The callers listed for a rewritten function can be anywhere its
    /// caller rules allow (see [`callers::hidden`]): if a blanked body
    /// there spells its name, parse the whole file.
    fn needs_whole_file(
        &self,
        ctx: &Ctx<'_>,
        findings: &[Finding],
        mentioned: &dyn Fn(&str, std::ops::Range<usize>) -> bool,
    ) -> bool {
        findings.iter().filter(|f| f.transform == self.spec.id && matches!(f.kind, FindingKind::Site(_))).any(|f| {
            let node = ctx.root().descendant_for_byte_range(f.range.start, f.range.start);
            let func = node.and_then(|n| {
                crate::python::parse::ancestors(ctx.root(), n)
                    .into_iter()
                    .rev()
                    .find(|a| a.kind_fast() == "function_definition")
            });
            // A site outside any function has no callers to list.
            func.is_some_and(|func| callers::hidden(ctx, func, mentioned))
        })
    }

    /// A site is an exit in a driver-loading region ([`DriverLoadError::regions`]),
    /// and every region lies in the definition that holds its exits:
    /// - a function named like a loader: its `def` spells `driver` (only with
    ///   the default `function_regex`; with another, `None`);
    /// - a handler around a loader call, or a check of the driver name before
    ///   it, in the same function: [`loaders::loader_of`] takes a call only
    ///   if it spells a loader's last name part, or names something an import
    ///   binds, which without `as` spells it too;
    /// - a stevedore callback, named anywhere: `None` if the file registers one.
    ///
    /// (Module-level code is not a definition, so it is always kept.)
    fn site_context(&self, text: &[u8]) -> Option<&regex::bytes::Regex> {
        let context = self.context.get_or_init(|| {
            let default =
                self.spec.options.iter().find(|o| o.name == "function_regex").and_then(|o| o.default.as_str());
            (default == Some(self.function_pattern.as_str())).then(|| SiteContext::new(&self.loaders))
        });
        context.as_ref().and_then(|c| c.for_file(text))
    }

    fn run(&self, ctx: &Ctx<'_>, out: &mut Vec<Finding>) {
        let registrations = self.registrations(ctx);
        let regions = self.regions(ctx, &registrations);
        let names = HandlerNames::default();
        let mut seen = HashSet::new();
        // Each exit's finding, with the function holding it.
        let mut exits: Vec<(Finding, Option<Node<'_>>)> = Vec::new();
        let mut notes = Vec::new();
        for region in &regions {
            ctx.walk(
                region.node,
                |n| n.id() == region.node.id() || !is_scope(n.kind_fast()),
                |n| {
                    if let Some(exit) = exit_of(ctx, n) {
                        if seen.insert(exit.stmt.id()) {
                            exits.push((
                                self.site(ctx, &exit, region, &regions, &names),
                                enclosing_function_in(ctx.root(), n),
                            ));
                        }
                    } else if let Some((spelled, what)) = shadowed_exit(ctx, n)
                        && seen.insert(n.id())
                    {
                        let evidence = format!("{}: `{spelled}` is {what}, not the process exit", place(ctx, n));
                        notes.push(left_alone(n, ctx, "shadowed", evidence));
                    }
                },
            );
        }
        // Exits outside driver-loading code, for `check --explain`.
        for n in exit_statements(ctx) {
            if !seen.contains(&n.id())
                && let Some(exit) = exit_of(ctx, n)
            {
                let (class, evidence) = self.why_not(ctx, &exit, &regions);
                exits.push((left_alone(exit.stmt, ctx, class, evidence), enclosing_function_in(ctx.root(), n)));
            }
        }
        let rewritten: Vec<Node<'_>> = exits
            .iter()
            .filter(|(f, _)| matches!(f.kind, FindingKind::Site(_)))
            .filter_map(|(_, func)| *func)
            .fold(Vec::new(), |mut v, f| {
                if !v.contains(&f) {
                    v.push(f);
                }
                v
            });
        keep_docstrings_true(&mut exits);
        let callbacks: Vec<(Node<'_>, &str)> = registrations.iter().map(|(kw, name, _)| (*kw, *name)).collect();
        callers::list(ctx, &rewritten, &callbacks, self.exception.name(), &mut notes);
        out.extend(exits.into_iter().map(|(f, _)| f));
        out.extend(notes);
    }
}

/// A docstring that says `:raises SystemExit` stays true: when an exit of
/// the function is left alone, its sites do not rename the docstring entry.
fn keep_docstrings_true(exits: &mut [(Finding, Option<Node<'_>>)]) {
    let kept: Vec<Node<'_>> = exits
        .iter()
        .filter(|(f, _)| matches!(f.kind, FindingKind::LeftAlone { .. }))
        .filter_map(|(_, func)| *func)
        .collect();
    for (finding, func) in exits.iter_mut() {
        let (FindingKind::Site(fix), Some(func)) = (&mut finding.kind, *func) else { continue };
        if let Some(doc) = kept.contains(&func).then(|| docstring(func)).flatten() {
            fix.edits.retain(|e| e.range != doc.byte_range());
        }
    }
}

/// The statements that may be exits, found from the text rather than by
/// walking every node: each spelling of `SystemExit`, `exit`, `quit` (or a
/// name an import binds, for `from sys import exit as die`) leads up to
/// its enclosing `raise` or expression statement. In document order.
fn exit_statements<'t>(ctx: &Ctx<'t>) -> Vec<Node<'t>> {
    let mut words: Vec<&str> = vec!["SystemExit", "exit", "quit"];
    let aliases = ctx.resolver().exit_aliases();
    words.extend(aliases.iter().map(String::as_str));
    let mut out: Vec<Node<'t>> = Vec::new();
    for word in words {
        for pos in ctx.find_spelled(word) {
            let Some(leaf) = ctx.root().descendant_for_byte_range(pos, pos + word.len()) else { continue };
            // The innermost statement or scope around the word, from one
            // descent (a `parent()` chain descends from the root each step).
            let chain = ancestors(ctx.root(), leaf);
            let stop = std::iter::once(leaf).chain(chain.iter().rev().copied()).find(|n| {
                matches!(n.kind_fast(), "raise_statement" | "expression_statement") || is_scope(n.kind_fast())
            });
            if let Some(n) = stop.filter(|n| matches!(n.kind_fast(), "raise_statement" | "expression_statement")) {
                out.push(n);
            }
        }
    }
    out.sort_by_key(|n| n.start_byte());
    out.dedup_by_key(|n| n.id());
    out
}

fn left_alone(stmt: Node<'_>, ctx: &Ctx<'_>, class: &str, evidence: String) -> Finding {
    Finding {
        transform: ID,
        range: stmt.byte_range(),
        message: format!("`{}` left alone", first_line(ctx.text(stmt))),
        kind: FindingKind::LeftAlone { class: class.into(), evidence },
    }
}

fn first_line(s: &str) -> &str {
    s.lines().next().unwrap_or(s).trim()
}

/// `importutils.import_object()` for messages.
fn callee(ctx: &Ctx<'_>, call: Node<'_>) -> String {
    let f = call.child_by_field_name("function").map(|f| ctx.text(f)).unwrap_or("");
    format!("{}()", f.split_whitespace().collect::<String>())
}

fn place(ctx: &Ctx<'_>, n: Node<'_>) -> String {
    enclosing_function_in(ctx.root(), n)
        .map(|f| format!("in `{}()`", ctx.qualified_name(f)))
        .unwrap_or_else(|| "at module level".into())
}

impl DriverLoadError {
    /// The compiled `function_regex` (compiled now if it is the default).
    fn function_regex(&self) -> &Regex {
        self.function_regex
            .get_or_init(|| Regex::new(&self.function_pattern).expect("the default function_regex compiles (tested)"))
    }

    /// Whether function `name` matches `function_regex`. While the default
    /// has not been needed whole, an ASCII name (the usual case) is matched
    /// against it compiled with ASCII classes: the same answer for an ASCII
    /// name (`\w` is `[0-9A-Za-z_]` there either way), for a small part of
    /// the cost of compiling Unicode's `\w`, which a run pays once.
    fn names_a_loader(&self, name: &str) -> bool {
        if name.is_ascii() && self.function_regex.get().is_none() {
            let ascii = self.ascii_default.get_or_init(|| {
                Regex::new(&format!("(?-u:{})", self.function_pattern))
                    .expect("the default function_regex compiles (tested)")
            });
            return ascii.is_match(name);
        }
        self.function_regex().is_match(name)
    }

    /// The stevedore failure callbacks registered in the file: the keyword
    /// argument, the function name it names, and which callback it is.
    fn registrations<'t>(&self, ctx: &Ctx<'t>) -> Vec<(Node<'t>, &'t str, Callback)> {
        let mut out = Vec::new();
        for value in ctx.captures(self.spec, "callback") {
            let Some(kw) = value.parent().filter(|p| p.kind_fast() == "keyword_argument") else { continue };
            let key = kw.child_by_field_name("name").map(|k| ctx.text(k)).unwrap_or("");
            let kind =
                if key == "on_load_failure_callback" { Callback::LoadFailure } else { Callback::MissingEntrypoints };
            let name = ctx.text(value).rsplit('.').next().unwrap_or("").trim();
            out.push((kw, name, kind));
        }
        out
    }

    /// The driver-loading regions, most specific first: handlers, then the
    /// checks before them, then whole functions.
    fn regions<'t>(&self, ctx: &Ctx<'t>, registrations: &[(Node<'t>, &'t str, Callback)]) -> Vec<Region<'t>> {
        let mut handlers = Vec::new();
        let mut checks = Vec::new();
        for h in ctx.captures(self.spec, "handler") {
            let Some(try_stmt) = h.parent().filter(|p| p.kind_fast() == "try_statement") else { continue };
            let Some(Loads::Driver(call)) = try_loads(&self.loaders, ctx, try_stmt) else { continue };
            if !catches_load_error(ctx, h) || entry_point(ctx, h).is_some() {
                continue;
            }
            handlers.push(Region { node: h, why: Why::Handler(call) });
            let name = loader_of(&self.loaders, ctx, call).and_then(|l| driver_name(ctx, l, call));
            if let Some((name, _)) = name {
                for check in driver_checks(ctx, try_stmt, name) {
                    if !checks.iter().any(|r: &Region<'_>| r.node.id() == check.id()) {
                        checks.push(Region { node: check, why: Why::Check(call) });
                    }
                }
            }
        }
        let mut functions = Vec::new();
        for f in ctx.captures(self.spec, "function") {
            let Some(body) = f.child_by_field_name("body") else { continue };
            let name = f.child_by_field_name("name").map(|n| ctx.text(n)).unwrap_or("");
            if let Some((_, _, kind)) = registrations.iter().find(|(_, n, _)| *n == name) {
                functions.push(Region { node: body, why: Why::Callback(*kind, f) });
            } else if self.names_a_loader(name) {
                functions.push(Region { node: body, why: Why::Named(f) });
            }
        }
        handlers.into_iter().chain(checks).chain(functions).collect()
    }

    fn site<'t>(
        &self,
        ctx: &Ctx<'t>,
        exit: &Exit<'t>,
        region: &Region<'t>,
        regions: &[Region<'t>],
        names: &HandlerNames,
    ) -> Finding {
        let stmt = first_line(ctx.text(exit.stmt));
        if is_success(ctx, exit.arg) {
            return left_alone(
                exit.stmt,
                ctx,
                "success-exit",
                format!("{}: exits with status 0 on purpose, which is not a load failure", place(ctx, exit.stmt)),
            );
        }
        if !exit.simple {
            let evidence = format!("{}: the exit has several or keyword arguments", place(ctx, exit.stmt));
            return left_alone(exit.stmt, ctx, "unsupported", evidence);
        }
        let why = match region.why {
            Why::Named(f) => format!("`{}()` is named like a driver loader", ctx.qualified_name(f)),
            Why::Callback(kind, f) => format!(
                "`{}()` is stevedore's {}",
                ctx.qualified_name(f),
                match kind {
                    Callback::LoadFailure => "on_load_failure_callback",
                    Callback::MissingEntrypoints => "on_missing_entrypoints_callback",
                }
            ),
            Why::Handler(call) => format!("in a handler around `{}`", callee(ctx, call)),
            Why::Check(call) => format!("in the driver-name check before `{}`", callee(ctx, call)),
        };
        let around = self.around(ctx, exit, region, regions);
        match self.fix(ctx, exit, &around, names) {
            Ok(fix) => Finding {
                transform: ID,
                range: exit.stmt.byte_range(),
                message: format!(
                    "`{stmt}` exits the process in driver-loading code ({why}): raise `{}` instead",
                    self.exception.name()
                ),
                kind: FindingKind::Site(fix),
            },
            Err(e) => left_alone(exit.stmt, ctx, "unsupported", format!("{}: {e}", place(ctx, exit.stmt))),
        }
    }

    /// What the message and the cause can be built from.
    fn around<'t>(&self, ctx: &Ctx<'t>, exit: &Exit<'t>, region: &Region<'t>, regions: &[Region<'t>]) -> Around<'t> {
        let handler = enclosing_handler(exit.stmt);
        let name_of = |call: Node<'t>| {
            let loader = loader_of(&self.loaders, ctx, call)?;
            driver_name(ctx, loader, call).map(|(n, _)| n)
        };
        // The loader this exit is about: the handler's, the checked one's,
        // else the first driver load in the function.
        let call = handler
            .and_then(|h| h.parent())
            .filter(|t| t.kind_fast() == "try_statement")
            .and_then(|t| match try_loads(&self.loaders, ctx, t) {
                Some(Loads::Driver(c)) => Some(c),
                _ => None,
            })
            .or(match region.why {
                Why::Check(c) | Why::Handler(c) => Some(c),
                _ => None,
            })
            .or_else(|| self.loader_in_function(ctx, exit.stmt, regions));
        let callback = match region.why {
            Why::Callback(kind, f) if enclosing_function_in(ctx.root(), exit.stmt) == Some(f) => Some((kind, f)),
            _ => None,
        };
        Around { handler, driver_name: call.and_then(name_of), callback }
    }

    fn fix<'t>(
        &self,
        ctx: &Ctx<'t>,
        exit: &Exit<'t>,
        around: &Around<'t>,
        names: &HandlerNames,
    ) -> Result<Fix, String> {
        let mut edits = Vec::new();
        let mut header = Vec::new();
        let name = exception_name(ctx, &self.exception, &self.base, exit.stmt, &mut header)?;
        let text = replacement(ctx, exit, around, &name, names, &mut edits)?;
        edits.push(crate::pipeline::edits::Edit::replace(exit.stmt.byte_range(), text));
        if let Some(f) = enclosing_function_in(ctx.root(), exit.stmt) {
            edits.extend(docstring_edit(ctx, f, &name));
        }
        Ok(Fix { edits, header, applicability: Applicability::Review })
    }

    /// The loader call of a handler region in the same function as `n`.
    fn loader_in_function<'t>(&self, ctx: &Ctx<'t>, n: Node<'t>, regions: &[Region<'t>]) -> Option<Node<'t>> {
        let f = enclosing_function_in(ctx.root(), n)?;
        regions.iter().find_map(|r| match r.why {
            Why::Handler(c) if enclosing_function_in(ctx.root(), c) == Some(f) => Some(c),
            _ => None,
        })
    }

    /// Why an exit outside every region is left alone: `(class, evidence)`.
    fn why_not<'t>(&self, ctx: &Ctx<'t>, exit: &Exit<'t>, regions: &[Region<'t>]) -> (&'static str, String) {
        let at = place(ctx, exit.stmt);
        let handler = enclosing_handler(exit.stmt);
        let try_stmt = handler.and_then(|h| h.parent()).filter(|t| t.kind_fast() == "try_statement");
        match (handler, try_stmt.and_then(|t| try_loads(&self.loaders, ctx, t))) {
            (Some(h), Some(Loads::Driver(call))) if catches_load_error(ctx, h) => {
                let reason = entry_point(ctx, h).unwrap_or_default();
                (
                    "entry-point",
                    format!("{at}: {reason}; exiting there, even around `{}`, is its job", callee(ctx, call)),
                )
            }
            (Some(h), Some(Loads::Driver(call))) => {
                let caught = loaders::caught(ctx, h).unwrap_or_default().join(", ");
                (
                    "not-driver-loading",
                    format!("{at}: the handler catches {caught}, not a loading error, around `{}`", callee(ctx, call)),
                )
            }
            (Some(_), Some(Loads::Fixed(n))) => (
                "optional-import",
                format!(
                    "{at}: the `try` loads a fixed module (`{}`): an optional dependency, not a configured driver",
                    first_line(ctx.text(n))
                ),
            ),
            _ => match entry_point(ctx, exit.stmt) {
                Some(reason) => ("entry-point", format!("{at}: {reason}")),
                None if let Some(call) = self.loader_in_function(ctx, exit.stmt, regions) => (
                    "not-driver-loading",
                    format!(
                        "{at}: outside the handlers around `{}` and the driver-name checks before it",
                        callee(ctx, call)
                    ),
                ),
                None => (
                    "not-driver-loading",
                    format!(
                        "{at}: not a driver-loading function (`function_regex`), and not in a handler around a \
                         driver loader"
                    ),
                ),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::transforms::{build, spec};

    #[test]
    fn function_regex_is_compiled_late_only_when_it_is_the_default() {
        let spec = spec(super::ID).unwrap();
        // The default waits for its first use, and compiles then.
        let mut options = spec.defaults();
        let lazy = super::DriverLoadError::new(spec, &options).unwrap();
        assert!(lazy.function_regex.get().is_none());
        // ASCII names go through the default compiled with ASCII classes,
        // with the same answers; others compile the Unicode one.
        for name in ["load_interface_driver", "_get_network_driver", "get_driver_options", "driver_not_found", "x"] {
            assert_eq!(
                lazy.names_a_loader(name),
                super::Regex::new(&lazy.function_pattern).unwrap().is_match(name),
                "{name}"
            );
        }
        assert!(lazy.function_regex.get().is_none());
        assert!(lazy.names_a_loader("load_ünterface_driver") && lazy.function_regex.get().is_some());
        assert!(lazy.function_regex().is_match("load_interface_driver"));
        // A pattern of the user's is compiled, and a bad one reported, when the transform is built.
        options.insert("function_regex".into(), toml::Value::String("^setup_".into()));
        assert!(super::DriverLoadError::new(spec, &options).unwrap().function_regex.get().is_some());
        options.insert("function_regex".into(), toml::Value::String("load_(".into()));
        let err = build(super::ID, &options).unwrap().err().expect("an invalid regex is an error");
        assert_eq!(err.option, "function_regex");
    }
}
