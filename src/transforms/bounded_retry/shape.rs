//! Loops that leave on something other than a wait being over: they iterate
//! (an iterator, a stream, a message channel) or they last as long as a
//! child process or thread does. Such loops sleep between items or checks,
//! but a bound would cut real work short, so they are left alone.

use crate::python::parse::KindFast;
use tree_sitter::Node;

use super::bounds::{assignments_to, first_line, line};
use super::exits::Exit;
use crate::python::is_scope;
use crate::transforms::Ctx;

/// `except StopIteration: break` (a `for` loop written by hand), or an exit
/// tested on what a `read`/`recv`/`receive` call returned in the loop (a
/// stream read to its end, a message loop that ends on a message).
pub fn iterates<'t>(ctx: &Ctx<'t>, body: Node<'t>, e: &Exit<'t>) -> Option<String> {
    if let Some(h) = e.in_handler {
        let caught = h.named_child(0).map(|c| ctx.text(c)).unwrap_or("");
        if caught.contains("StopIteration") || caught.contains("StopAsyncIteration") {
            return Some(format!("iterates: leaves when the iterator is exhausted (line {})", line(h)));
        }
    }
    for g in &e.guards {
        let reads = sources(ctx, body, *g).into_iter().any(is_read);
        if reads {
            return Some(format!(
                "reads a stream or messages until one says stop (`{}` at line {}), not a wait",
                first_line(ctx.text(*g)),
                line(*g)
            ));
        }
    }
    None
}

/// `read`, `readline`, `recv_into`, `receive`, `receive_json`... but not `ready`.
fn is_read(name: &str) -> bool {
    ["read", "recv", "receive"].iter().any(|verb| {
        name.strip_prefix(verb).is_some_and(|rest| {
            rest.is_empty() || rest.starts_with('_') || matches!(rest, "line" | "lines" | "from" | "exactly" | "until")
        })
    })
}

/// An exit tested on a child process or thread ending (`os.waitpid`,
/// `.poll()`, `.returncode`, `.is_alive()`): the loop lasts as long as that
/// process, which may be the whole life of a service.
pub fn outlives<'t>(ctx: &Ctx<'t>, body: Node<'t>, e: &Exit<'t>) -> Option<String> {
    for g in &e.guards {
        let text = ctx.text(*g);
        let direct = text.contains(".poll()") || text.contains(".returncode") || text.contains("is_alive(");
        let via = sources(ctx, body, *g)
            .into_iter()
            .any(|f| f.contains("waitpid") || matches!(f, "wait3" | "wait4" | "is_alive"));
        if direct || via {
            return Some(format!(
                "waits for a child process or thread to end (`{}` at line {}): it runs as long as that does",
                first_line(text),
                line(*g)
            ));
        }
    }
    None
}

/// The names of the functions whose results `guard` tests: calls in the
/// guard itself, and calls assigned (possibly awaited) to a name or
/// subscript base the guard reads, in the loop body.
fn sources<'t>(ctx: &Ctx<'t>, body: Node<'t>, guard: Node<'t>) -> Vec<&'t str> {
    let mut out = Vec::new();
    let mut names = Vec::new();
    // The identifiers an attribute is made of (`a` and `b` of `a.b`), noted
    // when the walk meets the attribute, before its children: asking each
    // identifier for its `parent()` would descend from the root every time.
    let mut parts = Vec::new();
    ctx.walk(
        guard,
        |n| !is_scope(n.kind_fast()),
        |n| match n.kind_fast() {
            "call" => out.extend(called(ctx, n)),
            "attribute" => {
                let mut cursor = n.walk();
                parts.extend(n.children(&mut cursor).filter(|c| c.kind_fast() == "identifier").map(|c| c.id()));
            }
            "identifier" if !parts.contains(&n.id()) => names.push(ctx.text(n)),
            _ => {}
        },
    );
    for name in names {
        for rhs in assignments_to(ctx, body, name) {
            let value = if rhs.kind_fast() == "await" { rhs.named_child(0) } else { Some(rhs) };
            let value = value.map(|v| if v.kind_fast() == "subscript" { v.named_child(0).unwrap_or(v) } else { v });
            out.extend(value.filter(|v| v.kind_fast() == "call").and_then(|c| called(ctx, c)));
        }
    }
    out
}

/// The last segment of a call's function: `waitpid` for `os.waitpid(...)`.
fn called<'t>(ctx: &Ctx<'t>, call: Node<'t>) -> Option<&'t str> {
    let f = call.child_by_field_name("function")?;
    match f.kind_fast() {
        "identifier" => Some(ctx.text(f)),
        "attribute" => f.child_by_field_name("attribute").map(|a| ctx.text(a)),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::is_read;

    #[test]
    fn read_verbs_but_not_ready() {
        for name in ["read", "readline", "read_message", "recv", "recv_into", "recvfrom", "receive", "receive_json"] {
            assert!(is_read(name), "{name}");
        }
        for name in ["ready", "readable", "received", "recvd", "reader"] {
            assert!(!is_read(name), "{name}");
        }
    }
}
