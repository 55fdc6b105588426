//! Tests that pin the old exit: `self.assertRaises(SystemExit, f, ...)`,
//! `with self.assertRaises(SystemExit):`, `pytest.raises(SystemExit)`,
//! `testtools.ExpectedException(SystemExit)` (and wrappers whose name ends
//! with `ExpectedException`, as a `with` item or through `self.useFixture`).
//!
//! The runner knows which loaders a run rewrote, in every module
//! (`app::runner`); a test module is judged here, on its own text. An
//! assertion is rewritten to expect the typed exception only when what it
//! runs provably calls a rewritten loader: the callable, or a call in the
//! `with` body (or after `useFixture`), resolves through the module's
//! imports and attributes (`utils.load_x`, `from pkg.utils import load_x`)
//! to a rewritten loader, or to a module-level function that calls one in
//! its own module. Bare names are never enough. An assertion whose code
//! only spells a rewritten function's name (a method through an instance, a
//! local helper), or that reads the exit status afterwards (`.code`), is
//! listed for the reviewer ("check these tests") and left alone.

use std::collections::HashSet;

use tree_sitter::Node;

use super::ID;
use crate::pipeline::edits::{Applicability, Edit, Fix};
use crate::python::parse::KindFast;
use crate::transforms::{Ctx, ExceptionRef, Finding, FindingKind};

/// What a run rewrote, for judging tests.
pub struct Rewritten {
    /// Dotted paths that now raise instead of exiting: rewritten
    /// module-level loaders (`pkg.utils.load_x`) and the module-level
    /// functions of their modules that call them.
    pub targets: HashSet<String>,
    /// The last name part of every rewritten function and of those callers.
    pub names: HashSet<String>,
}

/// The class of a test listed for the reviewer.
pub const CHECK_TEST: &str = "check-test";

/// The assertions of one test module: a site per provable assertion (its
/// `SystemExit` replaced by `exception`, imported), a `check-test` note per
/// assertion tame cannot prove. `ctx` is over the whole file.
pub fn judge(ctx: &Ctx<'_>, rewritten: &Rewritten, exception: &ExceptionRef, out: &mut Vec<Finding>) {
    for pos in ctx.find_spelled("SystemExit") {
        let Some(leaf) = ctx.root().descendant_for_byte_range(pos, pos + "SystemExit".len()) else { continue };
        if leaf.kind_fast() != "identifier" || ctx.text(leaf) != "SystemExit" {
            continue;
        }
        if ctx.resolver().resolve_name("SystemExit", leaf).as_deref() != Some("builtins.SystemExit") {
            continue;
        }
        let Some(args) = leaf.parent().filter(|p| p.kind_fast() == "argument_list") else { continue };
        let Some(call) = args.parent().filter(|p| p.kind_fast() == "call") else { continue };
        let Some(kind) = assertion(ctx, call) else { continue };
        let positional: Vec<Node<'_>> =
            named_children(args).into_iter().filter(|a| a.kind_fast() != "comment").collect();
        if positional.first().map(|a| a.id()) != Some(leaf.id()) {
            continue;
        }
        let Some(runs) = what_runs(ctx, call, kind, &positional) else { continue };
        let proven = runs.iter().any(|n| reaches(ctx, *n, rewritten));
        let spelled = runs.iter().any(|n| spells_any(ctx.text(*n), &rewritten.names));
        if !proven && !spelled {
            continue;
        }
        let reads_code = reads_status(ctx, call);
        let line = first_line(ctx.text(call));
        if proven && !reads_code {
            let mut header = Vec::new();
            match exception.name_at(ctx, leaf, &mut header) {
                Ok(name) => {
                    out.push(Finding {
                        transform: ID,
                        range: leaf.byte_range(),
                        message: format!(
                            "`{line}` expects the exit of a rewritten driver loader: expect `{name}` instead"
                        ),
                        kind: FindingKind::Site(Fix {
                            edits: vec![Edit::replace(leaf.byte_range(), name)],
                            header,
                            applicability: Applicability::Review,
                        }),
                    });
                    continue;
                }
                Err(e) => {
                    out.push(note(ctx, call, format!("the typed exception cannot be imported here: {e}")));
                    continue;
                }
            }
        }
        let why = if reads_code {
            "the test reads the exit status (`.code`), which the typed exception does not have"
        } else {
            "it names a rewritten loader, but tame cannot prove which function it calls"
        };
        out.push(note(ctx, call, why.to_owned()));
    }
}

fn note(ctx: &Ctx<'_>, call: Node<'_>, why: String) -> Finding {
    Finding {
        transform: ID,
        range: call.byte_range(),
        message: format!("`{}` may expect the exit of a rewritten driver loader", first_line(ctx.text(call))),
        kind: FindingKind::LeftAlone {
            class: CHECK_TEST.into(),
            evidence: format!("expects `SystemExit`; {why}: check this test"),
        },
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Assertion {
    /// `assertRaises`/`pytest.raises`: callable form or context manager.
    Raises,
    /// `ExpectedException(...)`: a context manager or a fixture.
    Expected,
}

/// Whether `call` is an assertion that expects its first argument.
fn assertion(ctx: &Ctx<'_>, call: Node<'_>) -> Option<Assertion> {
    let f = call.child_by_field_name("function")?;
    let last = match f.kind_fast() {
        "attribute" => ctx.text(f.child_by_field_name("attribute")?),
        "identifier" => ctx.text(f),
        _ => return None,
    };
    match last {
        "assertRaises" if f.kind_fast() == "attribute" => Some(Assertion::Raises),
        "raises" => (ctx.resolver().resolve(f).as_deref() == Some("pytest.raises")).then_some(Assertion::Raises),
        l if l.ends_with("ExpectedException") => Some(Assertion::Expected),
        _ => None,
    }
}

fn named_children(n: Node<'_>) -> Vec<Node<'_>> {
    let mut c = n.walk();
    n.named_children(&mut c).collect()
}

/// The code the assertion runs: its callable (callable form), the `with`
/// body, or the statements after `self.useFixture(ExpectedException(...))`.
fn what_runs<'t>(ctx: &Ctx<'t>, call: Node<'t>, kind: Assertion, args: &[Node<'t>]) -> Option<Vec<Node<'t>>> {
    if args.len() > 1 {
        return (kind == Assertion::Raises && args[1].kind_fast() != "keyword_argument").then(|| vec![args[1]]);
    }
    let mut up = call.parent()?;
    if up.kind_fast() == "as_pattern" {
        up = up.parent()?;
    }
    if up.kind_fast() == "with_item" {
        let with = up.parent().and_then(|c| if c.kind_fast() == "with_clause" { c.parent() } else { Some(c) })?;
        let body = with.child_by_field_name("body")?;
        return Some(vec![body]);
    }
    // `self.useFixture(ExpectedException(...))`: the rest of the block.
    let fixture = up.parent().filter(|c| c.kind_fast() == "call" && up.kind_fast() == "argument_list")?;
    let f = fixture.child_by_field_name("function")?;
    if f.kind_fast() != "attribute" || f.child_by_field_name("attribute").map(|a| ctx.text(a)) != Some("useFixture") {
        return None;
    }
    let stmt = fixture.parent().filter(|s| s.kind_fast() == "expression_statement")?;
    let mut rest = Vec::new();
    let mut next = stmt.next_named_sibling();
    while let Some(n) = next {
        rest.push(n);
        next = n.next_named_sibling();
    }
    Some(rest)
}

/// Whether `node` (a callable, or code) provably calls a target: the
/// callable, or a call's function, resolves to one.
fn reaches<'t>(ctx: &Ctx<'t>, node: Node<'t>, rewritten: &Rewritten) -> bool {
    let hit = |expr: Node<'_>| ctx.resolver().resolve(expr).is_some_and(|p| rewritten.targets.contains(&p));
    if matches!(node.kind_fast(), "identifier" | "attribute") {
        return hit(node);
    }
    let mut found = false;
    ctx.walk(
        node,
        |n| !matches!(n.kind_fast(), "function_definition" | "class_definition" | "lambda"),
        |n| {
            if !found
                && n.kind_fast() == "call"
                && let Some(f) = n.child_by_field_name("function")
            {
                found = hit(f);
            }
        },
    );
    found
}

fn spells_any(text: &str, names: &HashSet<String>) -> bool {
    names.iter().any(|n| {
        text.match_indices(n.as_str()).any(|(at, _)| {
            let before = text[..at].chars().next_back();
            let after = text[at + n.len()..].chars().next();
            let word = |c: Option<char>| c.is_some_and(|c| c.is_alphanumeric() || c == '_');
            !word(before) && !word(after)
        })
    })
}

/// Whether the test reads the exit status: `.code` after the assertion in
/// its function (`cm.exception.code`, `excinfo.value.code`, testtools'
/// returned exception's `.code`).
fn reads_status(ctx: &Ctx<'_>, call: Node<'_>) -> bool {
    let mut scope = call;
    while let Some(p) = scope.parent() {
        scope = p;
        if matches!(p.kind_fast(), "function_definition" | "module") {
            break;
        }
    }
    let after = &ctx.whole_file()[call.start_byte()..scope.end_byte()];
    after.contains(".code")
}

fn first_line(s: &str) -> &str {
    s.lines().next().unwrap_or(s).trim()
}

/// The calls in the file whose function resolves (through imports and
/// attributes, never by a bare name alone) to one of `targets`, in order.
pub fn calls_to<'t>(ctx: &Ctx<'t>, targets: &HashSet<String>) -> Vec<Node<'t>> {
    let mut out = Vec::new();
    ctx.walk(
        ctx.root(),
        |_| true,
        |n| {
            if n.kind_fast() == "call"
                && let Some(f) = n.child_by_field_name("function")
                && matches!(f.kind_fast(), "identifier" | "attribute")
                && ctx.resolver().resolve(f).is_some_and(|p| targets.contains(&p))
            {
                out.push(n);
            }
        },
    );
    out
}
