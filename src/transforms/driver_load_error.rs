//! `driver-load-error`: `SystemExit` in driver loading becomes a typed exception.
//!
//! Documentation, options and query: `transforms/driver-load-error.toml`.
//! The analysis first finds the driver-loading *regions* (functions named
//! like loaders or registered as stevedore failure callbacks, and `except`
//! handlers around a loader call), then the exits inside them. Exits outside
//! every region are reported as skipped, so `check --explain` shows them.

use std::collections::HashSet;

use regex::Regex;
use tree_sitter::Node;

use crate::edits::{Applicability, Edit, Fix, HeaderItem};
use crate::parse::walk;
use crate::python::{enclosing_function, is_scope, qualified_name};
use crate::transforms::{Ctx, ExceptionRef, Finding, FindingKind, OptionError, OptionValues, Spec, Transform, opt};

const ID: &str = "driver-load-error";

/// Exception types a driver-loading handler catches (the last dotted part).
const HANDLED: &[&str] = &[
    "ImportError",
    "ModuleNotFoundError",
    "ValueError",
    "RuntimeError",
    "AttributeError",
    "KeyError",
    "TypeError",
    "LookupError",
    "Exception",
    "NoMatches",
    "NoUniqueMatch",
];

pub struct DriverLoadError {
    spec: &'static Spec,
    function_regex: Regex,
    loaders: Vec<String>,
    exception: ExceptionRef,
    base: ExceptionRef,
}

pub fn build(spec: &'static Spec, options: &OptionValues) -> Result<Box<dyn Transform>, OptionError> {
    let err =
        |option: &str, problem: String| OptionError { transform: spec.id.clone(), option: option.into(), problem };
    let pattern = opt(options, spec, "function_regex").as_str().unwrap_or("");
    let function_regex = Regex::new(pattern).map_err(|e| err("function_regex", format!("invalid regex: {e}")))?;
    let loaders: Vec<String> = opt(options, spec, "loaders")
        .as_array()
        .map(|a| a.iter().filter_map(|v| v.as_str()).map(str::to_owned).collect())
        .unwrap_or_default();
    if loaders.iter().any(|l| l.is_empty()) {
        return Err(err("loaders", "entries must not be empty".into()));
    }
    let exception =
        ExceptionRef::parse(opt(options, spec, "exception").as_str().unwrap_or("")).map_err(|p| err("exception", p))?;
    let base = ExceptionRef::parse(opt(options, spec, "base").as_str().unwrap_or("")).map_err(|p| err("base", p))?;
    Ok(Box::new(DriverLoadError { spec, function_regex, loaders, exception, base }))
}

/// An exit statement and what it carried.
struct Exit<'t> {
    /// The statement to replace (a `raise_statement` or an `expression_statement`).
    stmt: Node<'t>,
    /// The exit's argument, if any.
    arg: Option<Node<'t>>,
    /// An existing `from` clause.
    cause: Option<Node<'t>>,
}

impl Transform for DriverLoadError {
    fn spec(&self) -> &'static Spec {
        self.spec
    }

    fn run(&self, ctx: &Ctx<'_>, out: &mut Vec<Finding>) {
        let callbacks: HashSet<&str> = ctx
            .captures(self.spec, "callback")
            .into_iter()
            .map(|n| ctx.text(n).rsplit('.').next().unwrap_or(""))
            .collect();
        let mut regions: Vec<Node<'_>> = Vec::new();
        for f in ctx.captures(self.spec, "function") {
            let name = f.child_by_field_name("name").map(|n| ctx.text(n)).unwrap_or("");
            if self.function_regex.is_match(name) || callbacks.contains(name) {
                regions.push(f);
            }
        }
        for h in ctx.captures(self.spec, "handler") {
            if self.is_loader_handler(ctx, h) {
                regions.push(h);
            }
        }
        let mut seen = HashSet::new();
        for region in &regions {
            let body =
                if region.kind() == "function_definition" { region.child_by_field_name("body") } else { Some(*region) };
            let Some(body) = body else { continue };
            walk(
                body,
                |n| n.id() == body.id() || !is_scope(n.kind()),
                |n| {
                    if let Some(exit) = exit_of(ctx, n) {
                        if seen.insert(exit.stmt.id()) {
                            out.push(self.site(ctx, &exit));
                        }
                    }
                },
            );
        }
        // Exits outside driver-loading code, for `check --explain`.
        let mut others: Vec<Node<'_>> = ctx.captures(self.spec, "raise");
        others.extend(ctx.captures(self.spec, "exit_call").into_iter().filter_map(|c| c.parent()));
        for n in others {
            if let Some(exit) = exit_of(ctx, n) {
                if seen.insert(exit.stmt.id()) {
                    let place = enclosing_function(exit.stmt)
                        .map(|f| format!("in `{}()`", qualified_name(f, ctx.src)))
                        .unwrap_or_else(|| "at module level".into());
                    out.push(Finding {
                        transform: ID,
                        range: exit.stmt.byte_range(),
                        message: format!("`{}` left alone", first_line(ctx.text(exit.stmt))),
                        kind: FindingKind::Skipped {
                            class: "not-driver-loading".into(),
                            evidence: format!(
                                "{place}: not a driver-loading function, and not in a handler around a driver loader"
                            ),
                        },
                    });
                }
            }
        }
    }
}

fn first_line(s: &str) -> &str {
    s.lines().next().unwrap_or(s).trim()
}

/// Recognises an exit statement: `raise SystemExit[(...)]`, or a statement
/// that is only a call to `sys.exit`/`exit`/`quit` (resolved through imports).
fn exit_of<'t>(ctx: &Ctx<'t>, n: Node<'t>) -> Option<Exit<'t>> {
    let r = ctx.resolver();
    match n.kind() {
        "raise_statement" => {
            let e = n.named_child(0)?;
            let cause = n.child_by_field_name("cause");
            let (callee, arg) = match e.kind() {
                "call" => (e.child_by_field_name("function")?, single_arg(e)?),
                _ => (e, None),
            };
            (r.resolve(callee)?.as_str() == "builtins.SystemExit").then_some(Exit { stmt: n, arg, cause })
        }
        "expression_statement" if n.named_child_count() == 1 => {
            let call = n.named_child(0).filter(|c| c.kind() == "call")?;
            let path = r.resolve(call.child_by_field_name("function")?)?;
            matches!(path.as_str(), "sys.exit" | "builtins.exit" | "builtins.quit")
                .then(|| single_arg(call).map(|arg| Exit { stmt: n, arg, cause: None }))
                .flatten()
        }
        _ => None,
    }
}

/// `Some(None)` for no argument, `Some(Some(a))` for one positional argument,
/// `None` for anything else (which tame does not rewrite).
fn single_arg(call: Node<'_>) -> Option<Option<Node<'_>>> {
    let args = call.child_by_field_name("arguments")?;
    let mut c = args.walk();
    let named: Vec<Node<'_>> = args.named_children(&mut c).filter(|n| n.kind() != "comment").collect();
    match named.as_slice() {
        [] => Some(None),
        [a] if !matches!(a.kind(), "keyword_argument" | "list_splat" | "dictionary_splat") => Some(Some(*a)),
        _ => None,
    }
}

fn is_numeric_exit(ctx: &Ctx<'_>, arg: Option<Node<'_>>) -> bool {
    match arg {
        None => true,
        Some(a) => match a.kind() {
            "integer" | "none" | "true" | "false" => true,
            "unary_operator" => a.named_child(0).is_some_and(|x| x.kind() == "integer"),
            "parenthesized_expression" => is_numeric_exit(ctx, a.named_child(0)),
            _ => false,
        },
    }
}

impl DriverLoadError {
    /// The loader call in the `try` body of handler `h`, if `h` catches a
    /// driver-loading error.
    fn loader_call<'t>(&self, ctx: &Ctx<'t>, h: Node<'t>) -> Option<Node<'t>> {
        let try_stmt = h.parent().filter(|p| p.kind() == "try_statement")?;
        let body = try_stmt.child_by_field_name("body")?;
        let found = std::cell::Cell::new(None);
        walk(
            body,
            |n| found.get().is_none() && (n.id() == body.id() || !is_scope(n.kind())),
            |n| {
                if found.get().is_none() && n.kind() == "call" && self.is_loader(ctx, n) {
                    found.set(Some(n));
                }
            },
        );
        found.get()
    }

    fn is_loader_handler<'t>(&self, ctx: &Ctx<'t>, h: Node<'t>) -> bool {
        let catches = match h.child_by_field_name("value") {
            None => true,
            Some(v) => {
                let mut names = Vec::new();
                walk(
                    v,
                    |n| n.kind() != "attribute",
                    |n| {
                        if matches!(n.kind(), "identifier" | "attribute") {
                            names.push(ctx.text(n).rsplit('.').next().unwrap_or(""));
                        }
                    },
                );
                names.iter().any(|n| HANDLED.contains(n))
            }
        };
        catches && self.loader_call(ctx, h).is_some()
    }

    /// A call to a configured loader whose arguments are not all literals (a
    /// fixed `import_module("yaml")` is an optional import, not a driver).
    fn is_loader<'t>(&self, ctx: &Ctx<'t>, call: Node<'t>) -> bool {
        let Some(f) = call.child_by_field_name("function") else { return false };
        let path = ctx.resolver().resolve(f).unwrap_or_else(|| ctx.text(f).to_owned());
        let path = path.strip_prefix("builtins.").unwrap_or(&path);
        let matches = self.loaders.iter().any(|l| path == l || path.ends_with(&format!(".{l}")));
        matches && driver_name_arg(ctx, call).is_some()
    }

    fn site<'t>(&self, ctx: &Ctx<'t>, exit: &Exit<'t>) -> Finding {
        let range = exit.stmt.byte_range();
        match self.render(ctx, exit) {
            Ok(fix) => Finding {
                transform: ID,
                range,
                message: format!(
                    "`{}` exits the process from driver-loading code: raise `{}` instead",
                    first_line(ctx.text(exit.stmt)),
                    self.exception.name()
                ),
                kind: FindingKind::Site(fix),
            },
            Err(why) => Finding {
                transform: ID,
                range,
                message: format!("`{}` left alone", first_line(ctx.text(exit.stmt))),
                kind: FindingKind::Skipped { class: "unsupported".into(), evidence: why },
            },
        }
    }

    fn render<'t>(&self, ctx: &Ctx<'t>, exit: &Exit<'t>) -> Result<Fix, String> {
        let mut edits = Vec::new();
        let mut header = Vec::new();
        let name = self.exception_name(ctx, exit.stmt, &mut header)?;
        let handler = enclosing_handler(exit.stmt);
        let cause = match (exit.cause, handler) {
            (Some(c), _) => Some(ctx.text(c).to_owned()),
            (None, Some(h)) => Some(bind_handler(ctx, h, &mut edits)?),
            (None, None) => None,
        };
        let message = self.message(ctx, exit, handler);
        let from = cause.map(|c| format!(" from {c}")).unwrap_or_default();
        edits.push(Edit::replace(exit.stmt.byte_range(), format!("raise {name}({message}){from}")));
        if let Some(f) = enclosing_function(exit.stmt) {
            edits.extend(docstring_edit(ctx, f, &name));
        }
        Ok(Fix { edits, header, applicability: Applicability::Review })
    }

    /// The exception's name at `at`, defining or importing it when needed.
    fn exception_name(&self, ctx: &Ctx<'_>, at: Node<'_>, header: &mut Vec<HeaderItem>) -> Result<String, String> {
        if let ExceptionRef::Import { .. } = self.exception {
            return self.exception.name_at(ctx, at, header);
        }
        let name = self.exception.name();
        let r = ctx.resolver();
        let module_binds = r.module().binds(name);
        match r.resolve_name(name, at) {
            // Unbound (or a builtin of that name): define it.
            Some(p) if p == format!("builtins.{name}") && !module_binds => {
                let base = match &self.base {
                    ExceptionRef::Name(b) => b.clone(),
                    ExceptionRef::Import { .. } => self.base.name_at(ctx, at, header)?,
                };
                let q = ctx.quote;
                let doc =
                    format!("{q}{q}{q}A driver could not be loaded (raised instead of exiting the process).{q}{q}{q}");
                header.push(HeaderItem::Definition {
                    name: name.to_owned(),
                    text: format!("class {name}({base}):\n{}{doc}\n", ctx.indent),
                });
                Ok(name.to_owned())
            }
            // The module defines or imports it, and nothing local shadows it.
            _ if module_binds && !locally_bound(ctx, name, at) => Ok(name.to_owned()),
            _ => Err(format!("`{name}` is bound locally here; set another `exception`")),
        }
    }

    fn message<'t>(&self, ctx: &Ctx<'t>, exit: &Exit<'t>, handler: Option<Node<'t>>) -> String {
        if !is_numeric_exit(ctx, exit.arg) {
            return ctx.text(exit.arg.expect("non-numeric exits have an argument")).to_owned();
        }
        if let Some(m) = logged_message(ctx, exit.stmt) {
            return m;
        }
        let q = ctx.quote;
        if let Some(call) = handler.and_then(|h| self.loader_call(ctx, h)) {
            if let Some(arg) = driver_name_arg(ctx, call) {
                return format!("{q}Could not load driver %s{q} % ({},)", ctx.text(arg));
            }
        }
        let func = enclosing_function(exit.stmt).map(|f| qualified_name(f, ctx.src)).unwrap_or_default();
        format!("{q}{func}: the driver could not be loaded{q}")
    }
}

fn locally_bound(ctx: &Ctx<'_>, name: &str, at: Node<'_>) -> bool {
    let mut cur = enclosing_function(at);
    while let Some(f) = cur {
        if crate::python::bindings::Scope::collect(f, ctx.src).binds(name) {
            return true;
        }
        cur = enclosing_function(f);
    }
    false
}

/// The innermost `except` clause around `n` within its function.
fn enclosing_handler(n: Node<'_>) -> Option<Node<'_>> {
    let mut cur = n.parent();
    while let Some(p) = cur {
        if is_scope(p.kind()) {
            return None;
        }
        if p.kind() == "except_clause" {
            return Some(p);
        }
        cur = p.parent();
    }
    None
}

/// The name the handler binds its exception to, adding ` as exc` if needed.
fn bind_handler(ctx: &Ctx<'_>, h: Node<'_>, edits: &mut Vec<Edit>) -> Result<String, String> {
    if let Some(alias) = h.child_by_field_name("alias") {
        return Ok(ctx.text(alias).to_owned());
    }
    let mut c = h.walk();
    let has_comma_form = h.children(&mut c).any(|n| n.kind() == ",");
    if has_comma_form {
        return Err("Python 2 `except X, e:` syntax".into());
    }
    let name = ctx.names().fresh("exc");
    match h.child_by_field_name("value") {
        Some(v) => edits.push(Edit::insert(v.end_byte(), format!(" as {name}"))),
        None => {
            // Bare `except:` catches everything, as `except BaseException` does.
            let kw = h.child(0).filter(|k| k.kind() == "except").ok_or("unexpected except clause")?;
            edits.push(Edit::insert(kw.end_byte(), format!(" BaseException as {name}")));
        }
    }
    Ok(name)
}

/// The message of a logging call right before `stmt`: a variable, or the
/// logged format with its arguments.
fn logged_message(ctx: &Ctx<'_>, stmt: Node<'_>) -> Option<String> {
    let mut prev = stmt.prev_named_sibling();
    for _ in 0..3 {
        let p = prev?;
        prev = p.prev_named_sibling();
        if p.kind() == "comment" {
            continue;
        }
        let call = p.named_child(0).filter(|c| p.kind() == "expression_statement" && c.kind() == "call")?;
        let f = call.child_by_field_name("function").filter(|f| f.kind() == "attribute")?;
        let method = ctx.text(f.child_by_field_name("attribute")?);
        if !matches!(method, "error" | "exception" | "critical" | "fatal" | "warning" | "warn" | "info") {
            continue;
        }
        let args = call.child_by_field_name("arguments")?;
        let mut c = args.walk();
        let positional: Vec<Node<'_>> =
            args.named_children(&mut c).filter(|n| !matches!(n.kind(), "comment" | "keyword_argument")).collect();
        let (first, rest) = positional.split_first()?;
        return match (first.kind(), rest) {
            (_, []) => Some(ctx.text(*first).to_owned()),
            ("string" | "concatenated_string", [d]) if d.kind() == "dictionary" => {
                Some(format!("{} % {}", ctx.text(*first), ctx.text(*d)))
            }
            ("string" | "concatenated_string", args) => {
                let list: Vec<&str> = args.iter().map(|a| ctx.text(*a)).collect();
                Some(format!("{} % ({},)", ctx.text(*first), list.join(", ")))
            }
            _ => None,
        };
    }
    None
}

/// The argument naming the driver: the first positional argument that is not
/// a literal or an ALL_CAPS constant (a namespace), or a `name=` keyword.
fn driver_name_arg<'t>(ctx: &Ctx<'t>, call: Node<'t>) -> Option<Node<'t>> {
    let args = call.child_by_field_name("arguments")?;
    let mut c = args.walk();
    for a in args.named_children(&mut c) {
        let value = match a.kind() {
            "keyword_argument" => {
                let k = a.child_by_field_name("name").map(|n| ctx.text(n)).unwrap_or("");
                if !matches!(k, "name" | "names" | "driver" | "import_str" | "name_or_class") {
                    continue;
                }
                a.child_by_field_name("value")?
            }
            "comment" => continue,
            _ => a,
        };
        let t = ctx.text(value);
        let constant = value.kind() == "identifier"
            && t.chars().all(|ch| ch.is_ascii_uppercase() || ch == '_' || ch.is_ascii_digit());
        let literal =
            matches!(value.kind(), "string" | "concatenated_string" | "integer" | "float" | "true" | "false" | "none");
        if !constant && !literal {
            return Some(value);
        }
    }
    None
}

/// Updates `:raises SystemExit ...` lines of the function's docstring.
fn docstring_edit(ctx: &Ctx<'_>, f: Node<'_>, name: &str) -> Option<Edit> {
    let body = f.child_by_field_name("body")?;
    let first = body.named_child(0).filter(|s| s.kind() == "expression_statement")?;
    let doc = first.named_child(0).filter(|s| s.kind() == "string")?;
    let text = ctx.text(doc);
    static RE: std::sync::OnceLock<Regex> = std::sync::OnceLock::new();
    let re = RE.get_or_init(|| Regex::new(r":raises?(\s+)SystemExit( of \d+)?").expect("valid regex"));
    if !re.is_match(text) {
        return None;
    }
    let new = re.replace_all(text, |c: &regex::Captures<'_>| format!(":raises{}{name}", &c[1]));
    Some(Edit::replace(doc.byte_range(), new.into_owned()))
}
