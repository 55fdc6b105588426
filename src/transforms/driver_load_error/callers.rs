//! For `check --explain`: the call sites, in the same file, of functions whose
//! exits were rewritten. Each now raises where it used to end the process,
//! so a caller that relied on the exit should catch the exception (at the
//! entry point, typically). Callers in other files are not listed: the
//! engine runs transforms one file at a time.

use crate::python::parse::KindFast;
use tree_sitter::Node;

use super::ID;
use super::render::locally_bound;
use crate::transforms::{Ctx, Finding, FindingKind};

/// The class a function is a method of, if it is one.
fn class_of(f: Node<'_>) -> Option<Node<'_>> {
    let mut up = f.parent()?;
    if up.kind_fast() == "decorated_definition" {
        up = up.parent()?;
    }
    up.parent().filter(|c| up.kind_fast() == "block" && c.kind_fast() == "class_definition")
}

/// Whether a function is defined at module level.
fn is_top_level(f: Node<'_>) -> bool {
    let mut up = f.parent();
    if up.is_some_and(|u| u.kind_fast() == "decorated_definition") {
        up = up.and_then(|u| u.parent());
    }
    up.is_some_and(|u| u.kind_fast() == "module")
}

fn is_inside(n: Node<'_>, ancestor: Node<'_>) -> bool {
    ancestor.start_byte() <= n.start_byte() && n.end_byte() <= ancestor.end_byte()
}

/// Lists calls of the `rewritten` functions, and the stevedore managers that
/// register one of them as a failure callback (`registrations`: the
/// keyword argument and the callback's function name).
pub fn list(
    ctx: &Ctx<'_>,
    rewritten: &[Node<'_>],
    registrations: &[(Node<'_>, &str)],
    exception: &str,
    out: &mut Vec<Finding>,
) {
    if rewritten.is_empty() {
        return;
    }
    let named: Vec<(&str, Node<'_>)> =
        rewritten.iter().filter_map(|f| Some((ctx.text(f.child_by_field_name("name")?), *f))).collect();
    let note = |call: Node<'_>, what: String| Finding {
        transform: ID,
        range: call.byte_range(),
        message: format!("`{}` may reach a rewritten exit", first_line(ctx.text(call))),
        kind: FindingKind::LeftAlone {
            class: "caller".into(),
            evidence: format!(
                "{what}, which now raises `{exception}` where it exited the process: catch it here or at the \
                 entry point if the process should still exit"
            ),
        },
    };
    // Calls are found from the spellings of each name, not by walking every
    // node: a call's callee ends with the name (`f`, `self.f`, `Class.f`).
    let mut calls_found: Vec<(Node<'_>, Node<'_>)> = Vec::new();
    for (name, f) in &named {
        for pos in ctx.find_spelled(name) {
            let Some(leaf) = ctx.root().descendant_for_byte_range(pos, pos + name.len()) else { continue };
            let callee =
                if leaf.parent().is_some_and(|p| p.kind_fast() == "attribute") { leaf.parent() } else { Some(leaf) };
            let Some(callee) = callee else { continue };
            let Some(call) = callee.parent().filter(|c| c.kind_fast() == "call") else { continue };
            if call.child_by_field_name("function").is_some_and(|fun| fun.id() == callee.id())
                && calls(ctx, callee, name, *f)
            {
                calls_found.push((call, *f));
            }
        }
    }
    calls_found.sort_by_key(|(call, f)| (call.start_byte(), f.start_byte()));
    calls_found.dedup_by_key(|(call, f)| (call.id(), f.id()));
    for (call, f) in calls_found {
        out.push(note(call, format!("calls `{}()`", ctx.qualified_name(f))));
    }
    for (kw, name) in registrations {
        let Some(manager) = kw.parent().and_then(|args| args.parent()).filter(|c| c.kind_fast() == "call") else {
            continue;
        };
        let Some((_, f)) = named.iter().find(|(n, _)| n == name) else { continue };
        let keyword = kw.child_by_field_name("name").map(|k| ctx.text(k)).unwrap_or("");
        out.push(note(manager, format!("registers `{}()` as stevedore's `{keyword}`", ctx.qualified_name(*f))));
    }
}

/// After a partial parse: whether a blanked body could hold a call that
/// [`calls`] would count for `f`. `mentioned(word, within)` tells whether a
/// blanked body starting inside `within` spells `word`. A module-level function can be
/// called from anywhere; a method only as `self.f`/`cls.f` inside its class
/// or `Class.f` anywhere; a nested function is never listed.
pub fn hidden(ctx: &Ctx<'_>, f: Node<'_>, mentioned: &dyn Fn(&str, std::ops::Range<usize>) -> bool) -> bool {
    let Some(name) = f.child_by_field_name("name").map(|n| ctx.text(n)) else { return false };
    let everywhere = 0..ctx.whole_file().len();
    match class_of(f) {
        None => is_top_level(f) && mentioned(name, everywhere),
        Some(class) => {
            let class_name = class.child_by_field_name("name").map(|c| ctx.text(c)).unwrap_or("");
            mentioned(name, class.byte_range())
                || (mentioned(name, everywhere.clone()) && mentioned(class_name, everywhere))
        }
    }
}

/// Whether `callee` (a call's function) refers to function `f` named `name`.
fn calls(ctx: &Ctx<'_>, callee: Node<'_>, name: &str, f: Node<'_>) -> bool {
    match (callee.kind_fast(), class_of(f)) {
        // `name(...)` with the module-level function in scope.
        ("identifier", None) => ctx.text(callee) == name && is_top_level(f) && !locally_bound(ctx, name, callee),
        // `self.name(...)`/`cls.name(...)` inside the class, `Class.name(...)` anywhere.
        ("attribute", Some(class)) => {
            let attr = callee.child_by_field_name("attribute").map(|a| ctx.text(a));
            let object = callee.child_by_field_name("object").map(|o| ctx.text(o)).unwrap_or("");
            let class_name = class.child_by_field_name("name").map(|c| ctx.text(c)).unwrap_or("");
            attr == Some(name)
                && (object == class_name || (matches!(object, "self" | "cls") && is_inside(callee, class)))
        }
        _ => false,
    }
}

fn first_line(s: &str) -> &str {
    s.lines().next().unwrap_or(s).trim()
}
