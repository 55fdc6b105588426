//! Recognising process exits: `raise SystemExit[(...)]` and statements that
//! only call `sys.exit`, `exit` or `quit`, resolved through imports so
//! `from sys import exit as die` counts and a local `def exit` does not.

use crate::python::parse::KindFast;
use tree_sitter::Node;

use crate::transforms::Ctx;

/// An exit statement and what it carried.
pub struct Exit<'t> {
    /// The statement to replace (a `raise_statement` or an `expression_statement`).
    pub stmt: Node<'t>,
    /// The exit's argument, if any.
    pub arg: Option<Node<'t>>,
    /// An existing `from` clause.
    pub cause: Option<Node<'t>>,
    /// Whether tame can rewrite the arguments (one positional argument at most).
    pub simple: bool,
}

/// The exit in statement `n`, if it is one.
pub fn exit_of<'t>(ctx: &Ctx<'t>, n: Node<'t>) -> Option<Exit<'t>> {
    let r = ctx.resolver();
    match n.kind_fast() {
        "raise_statement" => {
            let e = n.named_child(0)?;
            let cause = n.child_by_field_name("cause");
            let (callee, arg) = match e.kind_fast() {
                "call" => (e.child_by_field_name("function")?, single_arg(e)),
                _ => (e, Arguments::None),
            };
            // Resolving is the costly part: only names spelled `SystemExit` can be it.
            if ctx.text(callee) != "SystemExit" {
                return None;
            }
            (r.resolve(callee)?.as_str() == "builtins.SystemExit").then(|| Exit {
                stmt: n,
                arg: arg.single(),
                cause,
                simple: arg != Arguments::Other,
            })
        }
        "expression_statement" if n.named_child_count() == 1 => {
            let call = n.named_child(0).filter(|c| c.kind_fast() == "call")?;
            let f = call.child_by_field_name("function")?;
            if !could_be_exit(ctx, f) {
                return None;
            }
            let path = r.resolve(f)?;
            let arg = single_arg(call);
            matches!(path.as_str(), "sys.exit" | "builtins.exit" | "builtins.quit").then(|| Exit {
                stmt: n,
                arg: arg.single(),
                cause: None,
                simple: arg != Arguments::Other,
            })
        }
        _ => None,
    }
}

/// A cheap test before resolving: the callee is spelled `exit`/`quit` (or
/// `x.exit`), or is a name some import binds to `sys.exit`.
fn could_be_exit(ctx: &Ctx<'_>, f: Node<'_>) -> bool {
    let text = ctx.text(f);
    let last = text.rsplit('.').next().unwrap_or(text).trim();
    matches!(last, "exit" | "quit") || (f.kind_fast() == "identifier" && ctx.resolver().imports_anywhere(text))
}

/// A call to something *spelled* `exit`/`quit`/`sys.exit` that is not the
/// process exit because a local binding shadows it, as `(spelling, what it
/// is here)`.
pub fn shadowed_exit<'t>(ctx: &Ctx<'t>, n: Node<'t>) -> Option<(&'t str, &'static str)> {
    if n.kind_fast() != "expression_statement" || n.named_child_count() != 1 {
        return None;
    }
    let call = n.named_child(0).filter(|c| c.kind_fast() == "call")?;
    let f = call.child_by_field_name("function")?;
    let spelled = ctx.text(f);
    if !matches!(spelled, "exit" | "quit" | "sys.exit") {
        return None;
    }
    match ctx.resolver().resolve(f).as_deref() {
        Some("sys.exit" | "builtins.exit" | "builtins.quit") => None,
        Some(_) => Some((spelled, "an imported name")),
        None => Some((spelled, "bound locally (a function, parameter or assignment)")),
    }
}

/// The arguments of an exit call, as far as a rewrite cares.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Arguments<'t> {
    /// No argument (or no call: bare `raise SystemExit`).
    None,
    /// One positional argument.
    One(Node<'t>),
    /// Anything else (keywords, splats, several): tame does not rewrite it.
    Other,
}

impl<'t> Arguments<'t> {
    fn single(self) -> Option<Node<'t>> {
        match self {
            Arguments::One(a) => Some(a),
            Arguments::None | Arguments::Other => None,
        }
    }
}

fn single_arg(call: Node<'_>) -> Arguments<'_> {
    let Some(args) = call.child_by_field_name("arguments") else { return Arguments::Other };
    let mut c = args.walk();
    let named: Vec<Node<'_>> = args.named_children(&mut c).filter(|n| n.kind_fast() != "comment").collect();
    match named.as_slice() {
        [] => Arguments::None,
        [a] if !matches!(a.kind_fast(), "keyword_argument" | "list_splat" | "dictionary_splat") => Arguments::One(*a),
        _ => Arguments::Other,
    }
}

/// A status code rather than a message: no argument, `None`, a bool, an
/// integer, an ALL_CAPS constant (`EXIT_FAILURE`, `os.EX_CONFIG`) or a
/// variable named like a status (`rc`, `exit_code`). (`SystemExit("text")`
/// prints the text and exits with status 1: that text is a message.)
pub fn is_status(ctx: &Ctx<'_>, arg: Option<Node<'_>>) -> bool {
    let Some(a) = arg else { return true };
    match a.kind_fast() {
        "integer" | "none" | "true" | "false" => true,
        "unary_operator" => a.named_child(0).is_some_and(|x| x.kind_fast() == "integer"),
        "parenthesized_expression" => is_status(ctx, a.named_child(0)),
        "identifier" | "attribute" => {
            let last = ctx.text(a).rsplit('.').next().unwrap_or("");
            let constant = last.chars().any(|c| c.is_ascii_uppercase())
                && last.chars().all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_');
            let status_name = a.kind_fast() == "identifier"
                && matches!(
                    last,
                    "rc" | "ret"
                        | "retval"
                        | "code"
                        | "status"
                        | "exit_code"
                        | "exitcode"
                        | "returncode"
                        | "return_code"
                );
            constant || status_name
        }
        _ => false,
    }
}

/// An explicit success status (`sys.exit(0)`, `SystemExit(False)`,
/// `os.EX_OK`): the code ends the process on purpose, not because loading
/// failed.
pub fn is_success(ctx: &Ctx<'_>, arg: Option<Node<'_>>) -> bool {
    match arg {
        Some(a) if a.kind_fast() == "parenthesized_expression" => is_success(ctx, a.named_child(0)),
        Some(a) => matches!(ctx.text(a).rsplit('.').next(), Some("0" | "False" | "EX_OK" | "EXIT_SUCCESS")),
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `(is_status, is_success)` of the exit in `stmt`.
    fn classify(stmt: &str) -> (bool, bool) {
        let src = format!("import sys\n{stmt}\n");
        let tree = crate::python::parse::parse(&src).unwrap();
        let indent = crate::pipeline::source::Indent::known("    ");
        let ctx = Ctx::new(&src, &tree, &indent, "\n");
        let node = ctx.root().named_child(1).unwrap();
        let exit = exit_of(&ctx, node).expect("an exit");
        (is_status(&ctx, exit.arg), is_success(&ctx, exit.arg))
    }

    #[test]
    fn status_and_success() {
        assert_eq!(classify("sys.exit(1)"), (true, false));
        assert_eq!(classify("raise SystemExit"), (true, false));
        assert_eq!(classify("sys.exit()"), (true, false));
        assert_eq!(classify("sys.exit(-1)"), (true, false));
        assert_eq!(classify("sys.exit(0)"), (true, true));
        assert_eq!(classify("raise SystemExit((0))"), (true, true));
        assert_eq!(classify("sys.exit(False)"), (true, true));
        assert_eq!(classify("sys.exit('no driver')"), (false, false));
        assert_eq!(classify("raise SystemExit(msg)"), (false, false));
        assert_eq!(classify("sys.exit(_('no driver'))"), (false, false));
        assert_eq!(classify("sys.exit(EXIT_FAILURE)"), (true, false));
        assert_eq!(classify("sys.exit(os.EX_CONFIG)"), (true, false));
        assert_eq!(classify("sys.exit(os.EX_OK)"), (true, true));
        assert_eq!(classify("sys.exit(rc)"), (true, false));
    }
}
