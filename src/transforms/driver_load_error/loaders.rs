//! Which calls load a driver, which `except` handlers guard one, and which
//! code is an entry point (where exiting the process is the right thing).
//!
//! A loader call loads a *driver* only if the name it loads is not fixed in
//! the source: `importlib.import_module("yaml")` or `import yaml` inside a
//! `try` is an optional dependency, and exiting when it is missing is a
//! packaging decision, not a driver-loading failure.

use crate::python::parse::KindFast;
use std::cell::Cell;

use tree_sitter::Node;

use crate::python::{enclosing_function_in, is_scope};
use crate::transforms::Ctx;

/// Exception types a driver-loading handler catches (the last dotted part).
/// A handler catching only something else (`OSError`, `KeyboardInterrupt`)
/// guards another failure, even if its `try` also loads a driver.
const LOAD_ERRORS: &[&str] = &[
    "ImportError",
    "ModuleNotFoundError",
    "ValueError",
    "RuntimeError",
    "AttributeError",
    "KeyError",
    "TypeError",
    "LookupError",
    "Exception",
    "BaseException",
    "NoMatches",
    "NoUniqueMatch",
    "MultipleMatches",
    "ExtensionLoadError",
];

/// What a `try` body loads.
#[derive(Clone, Copy)]
pub enum Loads<'t> {
    /// A loader call whose driver name comes from configuration or a caller.
    Driver(Node<'t>),
    /// Only fixed modules: an `import` statement or a loader call whose name
    /// is a literal or a constant.
    Fixed(Node<'t>),
}

/// Where the driver name sits in a known loader's arguments.
struct NameArg {
    /// Positional index of the name.
    position: usize,
    /// Keywords that pass the name.
    keywords: &'static [&'static str],
    /// Whether the call loads a plugin whatever its arguments (stevedore
    /// managers: even a constant namespace loads whatever is installed).
    always_dynamic: bool,
}

fn name_arg(loader: &str) -> Option<NameArg> {
    let last = loader.rsplit('.').next().unwrap_or(loader);
    let (position, keywords, always_dynamic): (usize, &'static [&'static str], bool) = match last {
        "import_module" | "import_object" | "import_class" | "__import__" | "import_versioned_module" => {
            (0, &["import_str", "name"], false)
        }
        "import_object_ns" => (1, &["import_str"], false),
        "load_class_by_alias_or_classname" => (1, &["name"], false),
        "DriverManager" => (1, &["name"], true),
        "NamedExtensionManager" => (1, &["names"], true),
        "ExtensionManager" | "EnabledExtensionManager" | "HookManager" => (0, &["namespace"], true),
        _ => return None,
    };
    Some(NameArg { position, keywords, always_dynamic })
}

/// The configured loader a call targets, by its resolved dotted name (or its
/// spelling when a local binding hides what it is).
pub fn loader_of<'l>(loaders: &'l [String], ctx: &Ctx<'_>, call: Node<'_>) -> Option<&'l str> {
    let f = call.child_by_field_name("function")?;
    // A match needs the path's last part to be a loader's: an attribute call
    // keeps its name in the path, a bare name too unless an import renames
    // it. Most calls stop here, before resolving the name.
    let named = |last: &str| loaders.iter().any(|l| l.rsplit('.').next() == Some(last));
    let plausible = match f.kind_fast() {
        "identifier" => named(ctx.text(f)) || ctx.resolver().imports_anywhere(ctx.text(f)),
        "attribute" => f.child_by_field_name("attribute").is_some_and(|a| named(ctx.text(a))),
        _ => return None,
    };
    if !plausible {
        return None;
    }
    let path = ctx.resolver().resolve(f).unwrap_or_else(|| ctx.text(f).to_owned());
    let path = path.strip_prefix("builtins.").unwrap_or(&path);
    loaders
        .iter()
        .find(|l| path == l.as_str() || path.strip_suffix(l.as_str()).is_some_and(|head| head.ends_with('.')))
        .map(String::as_str)
}

/// The argument that names the driver, and whether it is dynamic (`None` if
/// the call passes no name tame can find).
pub fn driver_name<'t>(ctx: &Ctx<'t>, loader: &str, call: Node<'t>) -> Option<(Node<'t>, bool)> {
    let args = call.child_by_field_name("arguments")?;
    let mut c = args.walk();
    let all: Vec<Node<'t>> = args.named_children(&mut c).filter(|a| a.kind_fast() != "comment").collect();
    let keyword = |names: &[&str]| {
        all.iter().filter(|a| a.kind_fast() == "keyword_argument").find_map(|a| {
            let k = a.child_by_field_name("name").map(|n| ctx.text(n)).unwrap_or("");
            if names.contains(&k) { a.child_by_field_name("value") } else { None }
        })
    };
    let positional: Vec<Node<'t>> = all
        .iter()
        .copied()
        .filter(|a| !matches!(a.kind_fast(), "keyword_argument" | "list_splat" | "dictionary_splat"))
        .collect();
    match name_arg(loader) {
        Some(spec) => {
            let arg = positional.get(spec.position).copied().or_else(|| keyword(spec.keywords))?;
            Some((arg, spec.always_dynamic || !(is_fixed(ctx, arg) || loops_over_fixed(ctx, arg))))
        }
        // A configured loader tame knows nothing about: the first argument
        // that is not fixed names the driver.
        None => match positional
            .iter()
            .chain(keyword(&["name", "names", "driver", "import_str"]).iter())
            .find(|a| !is_fixed(ctx, **a))
        {
            Some(a) => Some((*a, true)),
            None => positional.first().map(|a| (*a, false)),
        },
    }
}

/// A literal (without interpolation) or an ALL_CAPS constant.
fn is_fixed<'t>(ctx: &Ctx<'t>, value: Node<'t>) -> bool {
    match value.kind_fast() {
        "string" | "concatenated_string" => {
            let interpolated = Cell::new(false);
            ctx.walk(
                value,
                |_| !interpolated.get(),
                |n| interpolated.set(interpolated.get() || n.kind_fast() == "interpolation"),
            );
            !interpolated.get()
        }
        "integer" | "float" | "true" | "false" | "none" => true,
        "identifier" => {
            let t = ctx.text(value);
            t.chars().any(|ch| ch.is_ascii_uppercase())
                && t.chars().all(|ch| ch.is_ascii_uppercase() || ch == '_' || ch.is_ascii_digit())
        }
        _ => false,
    }
}

/// Whether `name` is the target of an enclosing `for` over fixed names
/// (`for package in PACKAGES:`, `for m in ("a", "b"):`): every module the
/// loop imports is written in the source, like `import_module("a")`.
fn loops_over_fixed<'t>(ctx: &Ctx<'t>, name: Node<'t>) -> bool {
    if name.kind_fast() != "identifier" {
        return false;
    }
    let mut cur = name.parent();
    while let Some(p) = cur.filter(|p| !is_scope(p.kind_fast())) {
        if p.kind_fast() == "for_statement"
            && p.child_by_field_name("left").is_some_and(|l| ctx.text(l) == ctx.text(name))
            && let Some(right) = p.child_by_field_name("right")
        {
            let mut c = right.walk();
            return match right.kind_fast() {
                "list" | "tuple" | "set" => right.named_children(&mut c).all(|e| is_fixed(ctx, e)),
                _ => is_fixed(ctx, right),
            };
        }
        cur = p.parent();
    }
    false
}

/// What the `try` statement's body loads: the first driver load, else the
/// first fixed import.
pub fn try_loads<'t>(loaders: &[String], ctx: &Ctx<'t>, try_stmt: Node<'t>) -> Option<Loads<'t>> {
    let body = try_stmt.child_by_field_name("body")?;
    let driver = Cell::new(None);
    let mut fixed = None;
    ctx.walk(
        body,
        |n| driver.get().is_none() && (n.id() == body.id() || !is_scope(n.kind_fast())),
        |n| match n.kind_fast() {
            "call" if driver.get().is_none() => {
                if let Some(loader) = loader_of(loaders, ctx, n) {
                    match driver_name(ctx, loader, n) {
                        Some((_, true)) => driver.set(Some(n)),
                        _ => fixed = fixed.or(Some(n)),
                    }
                }
            }
            "import_statement" | "import_from_statement" => fixed = fixed.or(Some(n)),
            _ => {}
        },
    );
    driver.get().map(Loads::Driver).or(fixed.map(Loads::Fixed))
}

/// The exception names an `except` clause catches (the last dotted part of
/// each), or `None` for a bare `except:`.
pub fn caught<'t>(ctx: &Ctx<'t>, handler: Node<'t>) -> Option<Vec<&'t str>> {
    let mut value = handler.child_by_field_name("value")?;
    // `except E as e` parses as `value: (as_pattern E alias: ...)`.
    if value.kind_fast() == "as_pattern" {
        value = value.named_child(0)?;
    }
    let mut names = Vec::new();
    ctx.walk(
        value,
        |n| n.kind_fast() != "attribute",
        |n| {
            if matches!(n.kind_fast(), "identifier" | "attribute") {
                names.push(ctx.text(n).rsplit('.').next().unwrap_or(""));
            }
        },
    );
    Some(names)
}

/// Whether the handler catches a loading error (a bare `except:` does).
pub fn catches_load_error<'t>(ctx: &Ctx<'t>, handler: Node<'t>) -> bool {
    caught(ctx, handler).is_none_or(|names| names.iter().any(|n| LOAD_ERRORS.contains(n)))
}

/// Why `node` is in an entry point, if it is: a `main()`-like function, a
/// click/typer command, or the module's `if __name__ == "__main__":` block.
/// There, exiting the process is the point.
pub fn entry_point(ctx: &Ctx<'_>, node: Node<'_>) -> Option<String> {
    if let Some(f) = enclosing_function_in(ctx.root(), node) {
        let name = f.child_by_field_name("name").map(|n| ctx.text(n)).unwrap_or("");
        let trimmed = name.trim_start_matches('_');
        if trimmed == "main" || name.ends_with("_main") || trimmed.starts_with("main_") {
            return Some(format!("`{name}()` is an entry point"));
        }
        if let Some(d) = f.parent().filter(|p| p.kind_fast() == "decorated_definition") {
            let mut c = d.walk();
            for dec in d.children(&mut c).filter(|n| n.kind_fast() == "decorator") {
                let text = ctx.text(dec).trim_start_matches('@');
                let head = text.split('(').next().unwrap_or(text).trim();
                let last = head.rsplit('.').next().unwrap_or(head);
                if matches!(last, "command" | "group" | "callback") {
                    return Some(format!("`{name}()` is a command-line command (`@{head}`)"));
                }
            }
        }
        return None;
    }
    let mut cur = node.parent();
    while let Some(p) = cur {
        if p.kind_fast() == "if_statement" {
            let cond = p.child_by_field_name("condition").map(|c| ctx.text(c)).unwrap_or("");
            if cond.contains("__name__") && cond.contains("__main__") {
                return Some("the module's `__main__` block is an entry point".into());
            }
        }
        cur = p.parent();
    }
    None
}

/// `if` statements before `try_stmt` in the same function (or module) whose
/// condition tests the driver name the loader gets: the "no driver
/// configured" checks (`if not conf.driver:`, `if name is None:`).
pub fn driver_checks<'t>(ctx: &Ctx<'t>, try_stmt: Node<'t>, name: Node<'t>) -> Vec<Node<'t>> {
    if !matches!(name.kind_fast(), "identifier" | "attribute") {
        return Vec::new();
    }
    let wanted = ctx.text(name);
    let scope = enclosing_function_in(ctx.root(), try_stmt)
        .and_then(|f| f.child_by_field_name("body"))
        .unwrap_or_else(|| ctx.root());
    let mut out = Vec::new();
    ctx.walk(
        scope,
        |n| n.start_byte() < try_stmt.start_byte() && (n.id() == scope.id() || !is_scope(n.kind_fast())),
        |n| {
            if n.kind_fast() != "if_statement" || n.end_byte() > try_stmt.start_byte() {
                return;
            }
            let Some(cond) = n.child_by_field_name("condition") else { return };
            let tests_name = Cell::new(false);
            ctx.walk(
                cond,
                |_| !tests_name.get(),
                |e| {
                    if matches!(e.kind_fast(), "identifier" | "attribute") && ctx.text(e) == wanted {
                        tests_name.set(true);
                    }
                },
            );
            if tests_name.get() {
                out.push(n);
            }
        },
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn loaders() -> Vec<String> {
        ["importutils.import_object", "importutils.import_object_ns", "importlib.import_module", "DriverManager"]
            .map(String::from)
            .to_vec()
    }

    /// What the first `try` of `src` loads: "driver", "fixed" or "nothing".
    fn loads(src: &str) -> &'static str {
        let tree = crate::python::parse::parse(src).unwrap();
        let indent = crate::pipeline::source::Indent::known("    ");
        let ctx = Ctx::new(src, &tree, &indent, "\n");
        let mut found = None;
        ctx.walk(ctx.root(), |_| true, |n| found = found.or(Some(n).filter(|n| n.kind_fast() == "try_statement")));
        match try_loads(&loaders(), &ctx, found.expect("a try statement")) {
            Some(Loads::Driver(_)) => "driver",
            Some(Loads::Fixed(_)) => "fixed",
            None => "nothing",
        }
    }

    fn in_try(body: &str) -> String {
        format!(
            "from oslo_utils import importutils\nimport importlib\nfrom stevedore.driver import DriverManager\n\
             def f(conf, name):\n    try:\n        {body}\n    except ImportError:\n        pass\n"
        )
    }

    #[test]
    fn the_driver_name_is_where_each_loader_takes_it() {
        // The class path is fixed; only a constructor argument varies.
        assert_eq!(loads(&in_try("importutils.import_object('pkg.Driver', conf)")), "fixed");
        assert_eq!(loads(&in_try("importutils.import_object(conf.driver, conf)")), "driver");
        assert_eq!(loads(&in_try("importutils.import_object_ns('pkg', name)")), "driver");
        assert_eq!(loads(&in_try("importutils.import_object_ns('pkg', 'x.Y')")), "fixed");
        assert_eq!(loads(&in_try("importlib.import_module(f'pkg.{name}')")), "driver");
        assert_eq!(loads(&in_try("importlib.import_module('pkg.' + name)")), "driver");
        assert_eq!(loads(&in_try("importlib.import_module(DEFAULT_MODULE)")), "fixed");
        assert_eq!(loads(&in_try("importlib.import_module(import_str=conf.module)")), "driver");
        // stevedore managers load whatever is installed.
        assert_eq!(loads(&in_try("DriverManager('ns', 'fixed')")), "driver");
        assert_eq!(loads(&in_try("import yaml")), "fixed");
        assert_eq!(loads(&in_try("helper(conf.driver)")), "nothing");
    }

    #[test]
    fn a_loop_over_written_names_loads_fixed_modules() {
        let src = "import importlib\ndef f(names):\n    for m in ('a', 'b'):\n        try:\n            \
                   importlib.import_module(m)\n        except ImportError:\n            pass\n";
        assert_eq!(loads(src), "fixed");
        let src = src.replace("('a', 'b')", "names");
        assert_eq!(loads(&src), "driver");
    }

    #[test]
    fn entry_points() {
        let src = "import click\ndef main():\n    a\ndef cli_main():\n    b\n@click.command()\ndef run():\n    c\n\
                   def load_driver():\n    d\nif __name__ == '__main__':\n    e\n";
        let tree = crate::python::parse::parse(src).unwrap();
        let indent = crate::pipeline::source::Indent::known("    ");
        let ctx = Ctx::new(src, &tree, &indent, "\n");
        let mut got = Vec::new();
        ctx.walk(
            ctx.root(),
            |_| true,
            |n| {
                if n.kind_fast() == "identifier"
                    && ctx.text(n).len() == 1
                    && n.parent().unwrap().kind_fast() == "expression_statement"
                {
                    got.push((ctx.text(n).to_owned(), entry_point(&ctx, n).is_some()));
                }
            },
        );
        let want = [("a", true), ("b", true), ("c", true), ("d", false), ("e", true)];
        assert_eq!(got, want.map(|(n, e)| (n.to_owned(), e)));
    }
}
