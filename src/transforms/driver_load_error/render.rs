//! Rendering one exit as `raise DriverLoadError(<message>) from <cause>`:
//! the exception's name (defined, reused or imported), the handler binding,
//! the message kept or rebuilt from what is in scope, and the docstring.

use crate::python::parse::KindFast;
use std::cell::{Cell, RefCell};

use regex::Regex;
use tree_sitter::Node;

use super::exits::{Exit, is_status};
use crate::pipeline::edits::{Edit, HeaderItem};
use crate::python::bindings::Scope;
use crate::python::{enclosing_function_in, is_scope, line_indent, line_start};
use crate::transforms::{Ctx, ExceptionRef};

/// A stevedore failure callback, by the keyword it was registered with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Callback {
    /// `on_load_failure_callback(manager, entrypoint, exception)`.
    LoadFailure,
    /// `on_missing_entrypoints_callback(names)`.
    MissingEntrypoints,
}

/// What is known around one exit.
pub struct Around<'t> {
    /// The innermost `except` clause holding the exit (same function).
    pub handler: Option<Node<'t>>,
    /// The argument naming the driver of the nearest loader call.
    pub driver_name: Option<Node<'t>>,
    /// Set when the exit is in a stevedore failure callback.
    pub callback: Option<(Callback, Node<'t>)>,
}

/// Names bound by `except ... as` clauses tame adds, one per nesting depth
/// of handlers: sibling handlers share `exc`, while a handler inside another
/// gets its own name, so leaving the inner one (which deletes its name) never
/// unbinds the outer one's.
#[derive(Default)]
pub struct HandlerNames {
    by_depth: RefCell<Vec<String>>,
}

impl HandlerNames {
    fn name(&self, ctx: &Ctx<'_>, handler: Node<'_>) -> String {
        let mut depth = 0;
        let mut cur = handler.parent();
        while let Some(p) = cur.filter(|p| !is_scope(p.kind_fast())) {
            depth += usize::from(p.kind_fast() == "except_clause");
            cur = p.parent();
        }
        let mut names = self.by_depth.borrow_mut();
        while names.len() <= depth {
            names.push(ctx.names().fresh("exc"));
        }
        names[depth].clone()
    }
}

/// The statement that replaces the exit, plus the edits that go with it.
pub fn replacement<'t>(
    ctx: &Ctx<'t>,
    exit: &Exit<'t>,
    around: &Around<'t>,
    name: &str,
    names: &HandlerNames,
    edits: &mut Vec<Edit>,
) -> Result<String, String> {
    let cause = match (exit.cause, around.handler, around.callback) {
        (Some(c), _, _) => Some(ctx.text(c).to_owned()),
        (None, Some(h), _) => Some(bind_handler(ctx, h, names, edits)?),
        (None, None, Some((Callback::LoadFailure, f))) => callback_params(ctx, f).get(2).map(|p| (*p).to_owned()),
        (None, None, _) => None,
    };
    let text = ctx.whole_file();
    let column = crate::python::width(&text[line_start(text, exit.stmt.start_byte())..exit.stmt.start_byte()]);
    let from = cause.map(|c| format!(" from {c}")).unwrap_or_default();
    // Keep to the file's line length: a long raise breaks after the
    // parenthesis (PEP 8's hanging indent), then before a logged format's
    // `%`; a message copied over several lines is realigned under its start.
    let limit = ctx.line_limit();
    let fits = |text: &str| {
        text.lines().enumerate().all(|(i, l)| if i == 0 { column } else { 0 } + crate::python::width(l) <= limit)
    };
    let message =
        self::message(ctx, exit, around, Layout { column: column + "raise (".len() + name.len(), split: false });
    let one_line = format!("raise {name}({message}){from}");
    if fits(&one_line) {
        return Ok(one_line);
    }
    let outer = line_indent(ctx.whole_file(), exit.stmt.start_byte());
    let inner = format!("{outer}{}", ctx.indent());
    let column = crate::python::width(&inner);
    let mut wrapped = String::new();
    // After the parenthesis; then `% args` on a line of its own; then the
    // closing parenthesis too, at the `raise`'s indentation (so `) from exc`
    // leaves the message's line).
    for (split, close) in [(false, false), (true, false), (false, true), (true, true)] {
        let message = self::message(ctx, exit, around, Layout { column, split });
        let eol = ctx.eol();
        wrapped = if close {
            format!("raise {name}({eol}{inner}{message}{eol}{outer}){from}")
        } else {
            format!("raise {name}({eol}{inner}{message}){from}")
        };
        if fits(&wrapped) {
            break;
        }
    }
    Ok(wrapped)
}

/// Where a message starts, and whether a logged format's `% args` goes on a
/// line of its own.
#[derive(Clone, Copy)]
struct Layout {
    column: usize,
    split: bool,
}

/// The text of `node`, moved to start at column `column`: lines after the
/// first shift with it, so a format string continued over lines stays
/// aligned. Left as is when a multi-line string literal would change, or
/// when a line has too little indentation to shift left.
fn realign<'t>(ctx: &Ctx<'t>, node: Node<'t>, column: usize) -> String {
    let text = ctx.text(node);
    if !text.contains(['\n', '\r']) {
        return text.to_owned();
    }
    let multiline_string = Cell::new(false);
    ctx.walk(
        node,
        |_| !multiline_string.get(),
        |n| {
            if n.kind_fast() == "string" && n.start_position().row != n.end_position().row {
                multiline_string.set(true);
            }
        },
    );
    if multiline_string.get() {
        return text.to_owned();
    }
    let delta = column as isize - node.start_position().column as isize;
    let mut out = String::with_capacity(text.len() + 64);
    for (i, line) in text.split_inclusive('\n').enumerate() {
        if i == 0 || delta == 0 {
            out.push_str(line);
        } else if delta > 0 {
            out.push_str(&" ".repeat(delta as usize));
            out.push_str(line);
        } else {
            let cut = (-delta) as usize;
            if line.len() - line.trim_start_matches(' ').len() < cut {
                return text.to_owned();
            }
            out.push_str(&line[cut..]);
        }
    }
    out
}

/// The parameters of a callback, without `self`/`cls`.
fn callback_params<'t>(ctx: &Ctx<'t>, f: Node<'t>) -> Vec<&'t str> {
    let Some(params) = f.child_by_field_name("parameters") else { return Vec::new() };
    let mut c = params.walk();
    let names: Vec<&str> =
        params.named_children(&mut c).filter(|p| p.kind_fast() == "identifier").map(|p| ctx.text(p)).collect();
    let in_class = f.parent().is_some_and(|p| p.kind_fast() == "block")
        && f.parent().and_then(|b| b.parent()).is_some_and(|c| c.kind_fast() == "class_definition");
    match names.split_first() {
        Some((first, rest)) if in_class && matches!(*first, "self" | "cls") => rest.to_vec(),
        _ => names,
    }
}

/// The exit's own message, or one built from what is in scope.
fn message<'t>(ctx: &Ctx<'t>, exit: &Exit<'t>, around: &Around<'t>, layout: Layout) -> String {
    if let (false, Some(arg)) = (is_status(ctx, exit.arg), exit.arg) {
        return realign(ctx, arg, layout.column);
    }
    if let Some(m) = logged_message(ctx, exit.stmt, layout) {
        return m;
    }
    let q = ctx.quote();
    // `% args` on a line of its own when the layout asks for it.
    let sep = if layout.split { format!("{}{}", ctx.eol(), " ".repeat(layout.column)) } else { " ".into() };
    if let Some(name) = around.driver_name {
        return format!("{q}Could not load driver %s{q}{sep}% ({},)", ctx.text(name));
    }
    if let Some((kind, f)) = around.callback {
        let params = callback_params(ctx, f);
        match (kind, params.as_slice()) {
            (Callback::LoadFailure, [_, entrypoint, _]) => {
                return format!("{q}Could not load driver %s{q}{sep}% ({entrypoint},)");
            }
            (Callback::MissingEntrypoints, [names]) => return format!("{q}No driver found for %s{q}{sep}% ({names},)"),
            _ => {}
        }
    }
    let func = enclosing_function_in(ctx.root(), exit.stmt).map(|f| ctx.qualified_name(f)).unwrap_or_default();
    format!("{q}{func}: the driver could not be loaded{q}")
}

/// The exception's name at `at`, defining or importing it when needed.
pub fn exception_name(
    ctx: &Ctx<'_>,
    exception: &ExceptionRef,
    base: &ExceptionRef,
    at: Node<'_>,
    header: &mut Vec<HeaderItem>,
) -> Result<String, String> {
    if let ExceptionRef::Import { .. } = exception {
        return exception.name_at(ctx, at, header);
    }
    let name = exception.name();
    let r = ctx.resolver();
    let module_binds = r.module().binds(name);
    match r.resolve_name(name, at) {
        // Unbound (or a builtin of that name): define it.
        Some(p) if p == format!("builtins.{name}") && !module_binds => {
            let base = match base {
                ExceptionRef::Name(b) => b.clone(),
                ExceptionRef::Import { .. } => base.name_at(ctx, at, header)?,
            };
            // Docstrings keep the file's docstring quotes (PEP 257: `"""`),
            // whatever quote its other strings prefer. (The whole file: after
            // a partial parse, `src` has its blanked docstrings as spaces.)
            let q =
                if ctx.whole_file().contains("\"\"\"") || !ctx.whole_file().contains("\'\'\'") { '"' } else { '\'' };
            let doc = format!("{q}{q}{q}A driver could not be loaded (raised instead of exiting).{q}{q}{q}");
            header.push(HeaderItem::Definition {
                name: name.to_owned(),
                text: format!("class {name}({base}):\n{}{doc}\n", ctx.indent()),
            });
            Ok(name.to_owned())
        }
        // The module defines or imports it, and nothing local shadows it.
        _ if module_binds && !locally_bound(ctx, name, at) => Ok(name.to_owned()),
        _ => Err(format!("`{name}` is bound locally here; set another `exception`")),
    }
}

/// Whether a function around `at` binds `name`.
pub fn locally_bound(ctx: &Ctx<'_>, name: &str, at: Node<'_>) -> bool {
    let mut cur = enclosing_function_in(ctx.root(), at);
    while let Some(f) = cur {
        if Scope::collect(f, ctx.whole_file()).binds(name) {
            return true;
        }
        cur = enclosing_function_in(ctx.root(), f);
    }
    false
}

/// The innermost `except` clause around `n` within its function.
pub fn enclosing_handler(n: Node<'_>) -> Option<Node<'_>> {
    let mut cur = n.parent();
    while let Some(p) = cur {
        if is_scope(p.kind_fast()) {
            return None;
        }
        if p.kind_fast() == "except_clause" {
            return Some(p);
        }
        cur = p.parent();
    }
    None
}

/// The name the handler binds its exception to, adding ` as exc` if needed.
fn bind_handler(ctx: &Ctx<'_>, h: Node<'_>, names: &HandlerNames, edits: &mut Vec<Edit>) -> Result<String, String> {
    let value = h.child_by_field_name("value");
    // `except E as e` parses as `value: (as_pattern E alias: (as_pattern_target e))`.
    if let Some(alias) = value.filter(|v| v.kind_fast() == "as_pattern").and_then(|v| v.child_by_field_name("alias")) {
        let name = ctx.text(alias).trim();
        if name.chars().all(|c| c.is_alphanumeric() || c == '_') {
            return Ok(name.to_owned());
        }
        return Err(format!("the handler binds `{name}`, not a plain name"));
    }
    let mut c = h.walk();
    if h.children(&mut c).any(|n| n.kind_fast() == ",") {
        return Err("Python 2 `except X, e:` syntax".into());
    }
    let name = names.name(ctx, h);
    match value {
        Some(v) => edits.push(Edit::insert(v.end_byte(), format!(" as {name}"))),
        None => {
            // Bare `except:` catches everything, exactly as `except BaseException` does.
            let kw = h.child(0).filter(|k| k.kind_fast() == "except").ok_or("unexpected except clause")?;
            edits.push(Edit::insert(kw.end_byte(), format!(" BaseException as {name}")));
        }
    }
    Ok(name)
}

/// The message of a logging call (or `print`) right before `stmt`: a
/// variable, or the logged format with its arguments applied as logging
/// would apply them.
fn logged_message<'t>(ctx: &Ctx<'t>, stmt: Node<'t>, layout: Layout) -> Option<String> {
    let mut prev = stmt.prev_named_sibling();
    for _ in 0..3 {
        let p = prev?;
        prev = p.prev_named_sibling();
        if p.kind_fast() == "comment" {
            continue;
        }
        let call = p.named_child(0).filter(|c| p.kind_fast() == "expression_statement" && c.kind_fast() == "call")?;
        let f = call.child_by_field_name("function")?;
        let is_print = f.kind_fast() == "identifier" && ctx.text(f) == "print" && !ctx.resolver().is_bound("print", f);
        let method = f.child_by_field_name("attribute").filter(|_| f.kind_fast() == "attribute").map(|a| ctx.text(a));
        let logs = matches!(method, Some("error" | "exception" | "critical" | "fatal" | "warning" | "warn"));
        if !is_print && !logs {
            continue;
        }
        let args = call.child_by_field_name("arguments")?;
        let mut c = args.walk();
        let positional: Vec<Node<'_>> =
            args.named_children(&mut c).filter(|n| !matches!(n.kind_fast(), "comment" | "keyword_argument")).collect();
        let (first, rest) = positional.split_first()?;
        let format = realign(ctx, *first, layout.column);
        if is_print {
            // `print(a, b)` joins with spaces: only a single argument is a message as is.
            return rest.is_empty().then_some(format);
        }
        // After a format spread over lines, `% args` goes on a line of its own.
        let sep = if layout.split || format.contains('\n') {
            format!("{}{}", ctx.eol(), " ".repeat(layout.column))
        } else {
            " ".into()
        };
        return match rest {
            [] => Some(format),
            _ if !is_format(ctx, *first) => None,
            [d] if d.kind_fast() == "dictionary" => Some(format!("{format}{sep}% {}", ctx.text(*d))),
            [one] => Some(format!("{format}{sep}% ({},)", ctx.text(*one))),
            many => {
                let list: Vec<&str> = many.iter().map(|a| ctx.text(*a)).collect();
                Some(format!("{format}{sep}% ({})", list.join(", ")))
            }
        };
    }
    None
}

/// A format string logging would %-format: a string literal, or a literal
/// wrapped in a translation marker (`_("...")`, `_LE("...")`).
fn is_format(ctx: &Ctx<'_>, n: Node<'_>) -> bool {
    match n.kind_fast() {
        "string" | "concatenated_string" => true,
        "call" => {
            let f = n.child_by_field_name("function");
            let marker = f.is_some_and(|f| f.kind_fast() == "identifier" && ctx.text(f).starts_with('_'));
            let args = n.child_by_field_name("arguments");
            let single_literal = args.is_some_and(|a| {
                a.named_child_count() == 1
                    && a.named_child(0).is_some_and(|s| matches!(s.kind_fast(), "string" | "concatenated_string"))
            });
            marker && single_literal
        }
        _ => false,
    }
}

/// The docstring of function `f`.
pub fn docstring(f: Node<'_>) -> Option<Node<'_>> {
    let body = f.child_by_field_name("body")?;
    let first = body.named_child(0).filter(|s| s.kind_fast() == "expression_statement")?;
    first.named_child(0).filter(|s| s.kind_fast() == "string")
}

/// Updates the `SystemExit` entries of the function's docstring: reST
/// (`:raises SystemExit: ...`, `:raises: SystemExit`, `:raises SystemExit of
/// 1 ...`) and Google style (`SystemExit: ...` under `Raises:`).
pub fn docstring_edit(ctx: &Ctx<'_>, f: Node<'_>, name: &str) -> Option<Edit> {
    let doc = docstring(f)?;
    let text = ctx.text(doc);
    static REST: std::sync::OnceLock<Regex> = std::sync::OnceLock::new();
    static GOOGLE: std::sync::OnceLock<Regex> = std::sync::OnceLock::new();
    static SECTION: std::sync::OnceLock<Regex> = std::sync::OnceLock::new();
    let rest = REST.get_or_init(|| Regex::new(r"(:raises?:?[ \t]+)SystemExit(?: of \d+)?\b").expect("valid regex"));
    let google = GOOGLE.get_or_init(|| Regex::new(r"(?m)^([ \t]+)SystemExit([ \t]*:)").expect("valid regex"));
    let section = SECTION.get_or_init(|| Regex::new(r"(?m)^[ \t]*Raises:[ \t]*\r?$").expect("valid regex"));
    let mut new = rest.replace_all(text, |c: &regex::Captures<'_>| format!("{}{name}", &c[1])).into_owned();
    if section.is_match(&new) {
        new = google.replace_all(&new, |c: &regex::Captures<'_>| format!("{}{name}{}", &c[1], &c[2])).into_owned();
    }
    (new != text).then(|| Edit::replace(doc.byte_range(), new))
}
