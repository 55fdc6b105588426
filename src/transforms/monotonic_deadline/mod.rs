//! `monotonic-deadline`: wall-clock reads used only as durations move to
//! `time.monotonic()`.
//!
//! The documentation lives in `transforms/monotonic-deadline.toml`;
//! [`flow`] follows each read's value and groups the reads that only meet
//! each other; this file decides what each group becomes (a site, or a
//! candidate left alone with the reason) and writes the edits, including
//! the one import spelling that needs care (`from time import time`).

mod flow;

use std::collections::HashSet;

use tree_sitter::Node;

use crate::pipeline::edits::{Applicability, Edit, Fix};
use crate::python::parse::KindFast;
use crate::transforms::{Ctx, Finding, FindingKind, OptionError, OptionValues, Spec, Transform};

/// The query captures [`MonotonicDeadline::run`] reads.
pub const CAPTURES: &[&str] = &["call"];

pub struct MonotonicDeadline {
    spec: &'static Spec,
}

pub fn build(spec: &'static Spec, _options: &OptionValues) -> Result<Box<dyn Transform>, OptionError> {
    Ok(Box::new(MonotonicDeadline { spec }))
}

impl Transform for MonotonicDeadline {
    fn spec(&self) -> &'static Spec {
        self.spec
    }

    /// A group with a private attribute needs every use of the attribute in
    /// the module, and a read through `from time import time` every use of
    /// the name: if a blanked body outside the group's classes spells one,
    /// parse the whole file (inside them: [`Self::blocks_needed`]).
    fn needs_whole_file(
        &self,
        ctx: &Ctx<'_>,
        _findings: &[Finding],
        mentioned: &dyn Fn(&str, std::ops::Range<usize>) -> bool,
    ) -> bool {
        let len = ctx.whole_file().len();
        self.all_groups(ctx).iter().any(|g| {
            let outside = |word: &str| {
                let mut from = 0;
                let mut classes = g.classes.clone();
                classes.sort_by_key(|c| c.start);
                for c in classes.iter().chain(std::iter::once(&(len..len))) {
                    if c.start > from && mentioned(word, from..c.start) {
                        return true;
                    }
                    from = from.max(c.end);
                }
                false
            };
            // A bare `time()` needs its import, which a partial parse may
            // have left out of the tree (plain imports leave it), and every
            // use of the name: always the whole file.
            g.attrs.iter().any(|a| outside(a))
                || g.reads
                    .iter()
                    .any(|r| r.child_by_field_name("function").is_some_and(|c| c.kind_fast() == "identifier"))
        })
    }

    /// A group with a private attribute needs every method of its class: the
    /// classes where a blanked member spells the attribute are parsed whole.
    fn blocks_needed(
        &self,
        ctx: &Ctx<'_>,
        _findings: &[Finding],
        mentioned: &dyn Fn(&str, std::ops::Range<usize>) -> bool,
    ) -> Vec<std::ops::Range<usize>> {
        let mut needed = Vec::new();
        for g in self.all_groups(ctx) {
            for class in &g.classes {
                if g.attrs.iter().any(|a| mentioned(a, class.clone())) && !needed.contains(class) {
                    needed.push(class.clone());
                }
            }
        }
        needed
    }

    fn run(&self, ctx: &Ctx<'_>, out: &mut Vec<Finding>) {
        let mut units: Vec<Node<'_>> = Vec::new();
        for call in ctx.captures(self.spec, "call") {
            if flow::is_read(ctx, call) {
                if let Some(unit) = unit_at(ctx, call.start_byte())
                    && !units.contains(&unit)
                {
                    units.push(unit);
                }
            } else if let Some(what) = datetime_deadline(ctx, call) {
                let evidence =
                    format!("`{}` is a wall-clock read: {what}; tame reports it, rewrite it by hand", ctx.text(call));
                out.push(left_alone(ctx, call, "wallclock-datetime", evidence));
            }
        }
        let groups: Vec<flow::Group<'_>> = units.into_iter().flat_map(|u| flow::groups(ctx, u)).collect();
        // The reads that become monotonic, unless an import stops them.
        let moving: HashSet<usize> = groups
            .iter()
            .filter(|g| g.durations > 0 && g.escape.is_none())
            .flat_map(|g| g.reads.iter().filter_map(|r| r.child_by_field_name("function")).map(|c| c.id()))
            .collect();
        for g in &groups {
            if !g.measures() {
                continue;
            }
            if let Some((at, why)) = &g.escape {
                let evidence = format!("line {}: {why}", at.start_position().row + 1);
                out.push(left_alone(ctx, g.reads[0], "timestamp-escapes", evidence));
                continue;
            }
            if g.durations == 0 {
                // Clean, but measures nothing: `t = time.time()` and no more.
                continue;
            }
            match rewrite(ctx, g, &moving) {
                Ok(fix) => out.push(Finding {
                    transform: "monotonic-deadline",
                    range: g.reads[0].byte_range(),
                    message: format!(
                        "wall-clock {} ({} read{} of `time.time()` used only as durations): move to `time.monotonic()`",
                        match g.attrs.first() {
                            Some(attr) => format!("timing in `self.{attr}`"),
                            None => format!("deadline in `{}`", ctx.qualified_name(g.reads[0])),
                        },
                        g.reads.len(),
                        if g.reads.len() == 1 { "" } else { "s" }
                    ),
                    kind: FindingKind::Site(fix),
                }),
                Err(Unfit::ImportInUse(why)) => out.push(left_alone(ctx, g.reads[0], "import-in-use", why)),
                Err(Unfit::TooLong(why)) => out.push(left_alone(ctx, g.reads[0], "line-too-long", why)),
            }
        }
    }
}

impl MonotonicDeadline {
    /// Every group of the file, found or not: whether a group is a site,
    /// a candidate left alone or nothing at all can depend on blanked text,
    /// so the question is asked of each, not only of those with findings.
    fn all_groups<'t>(&self, ctx: &Ctx<'t>) -> Vec<flow::Group<'t>> {
        let mut units = Vec::new();
        for call in ctx.captures(self.spec, "call") {
            if flow::is_read(ctx, call)
                && let Some(unit) = unit_at(ctx, call.start_byte())
                && !units.contains(&unit)
            {
                units.push(unit);
            }
        }
        units.into_iter().flat_map(|u| flow::groups(ctx, u)).collect()
    }
}

fn left_alone(ctx: &Ctx<'_>, at: Node<'_>, class: &str, evidence: String) -> Finding {
    Finding {
        transform: "monotonic-deadline",
        range: at.byte_range(),
        message: format!("`{}` left alone: {class}", ctx.text(at)),
        kind: FindingKind::LeftAlone { class: class.to_owned(), evidence },
    }
}

/// The top-level statement holding byte `at`.
fn unit_at<'t>(ctx: &Ctx<'t>, at: usize) -> Option<Node<'t>> {
    let root = ctx.root();
    let mut cursor = root.walk();
    root.named_children(&mut cursor).find(|c| c.start_byte() <= at && at < c.end_byte())
}

/// The edits of one group: `time.time` becomes `time.monotonic`; a bare
/// `time()` from `from time import time` becomes `monotonic()` with its
/// import, when every use of the name moves (`moving`: the callees of every
/// read that moves).
/// Why a group that could move is left alone.
enum Unfit {
    /// Its reads go through an import other code still needs.
    ImportInUse(String),
    /// A rewritten line would not fit the file's line length.
    TooLong(String),
}

fn rewrite<'t>(ctx: &Ctx<'t>, g: &flow::Group<'t>, moving: &HashSet<usize>) -> Result<Fix, Unfit> {
    let mut edits = Vec::new();
    for read in &g.reads {
        let Some(callee) = read.child_by_field_name("function") else { continue };
        match callee.kind_fast() {
            "attribute" => {
                let Some(name) = callee.child_by_field_name("attribute") else { continue };
                edits.push(Edit::replace(name.byte_range(), "monotonic"));
            }
            _ => edits.extend(bare_name(ctx, callee, moving).map_err(Unfit::ImportInUse)?),
        }
    }
    edits.sort_by_key(|e| e.range.start);
    edits.dedup();
    too_long(ctx, &edits).map_err(Unfit::TooLong)?;
    Ok(Fix { edits, header: Vec::new(), applicability: Applicability::Safe })
}

/// `monotonic` is five characters longer than `time`: a line that fits the
/// file's limit must still fit after the edits (the project's lint gate
/// would fail otherwise). Wrapping a line is left to the author.
fn too_long(ctx: &Ctx<'_>, edits: &[Edit]) -> Result<(), String> {
    let text = ctx.whole_file();
    let limit = ctx.line_limit();
    let mut i = 0;
    while i < edits.len() {
        let start = crate::python::line_start(text, edits[i].range.start);
        let end = text[start..].find(['\n', '\r']).map_or(text.len(), |k| start + k);
        let on_line: Vec<&Edit> = edits[i..].iter().take_while(|e| e.range.start < end).collect();
        let old = text[start..end].chars().count();
        let grown: isize = on_line
            .iter()
            .map(|e| e.text.chars().count() as isize - text[e.range.clone()].chars().count() as isize)
            .sum();
        let new = (old as isize + grown) as usize;
        if old <= limit && new > limit {
            let line = 1 + text[..start].matches('\n').count();
            return Err(format!("`monotonic` would make line {line} {new} columns long (the file keeps to {limit})"));
        }
        i += on_line.len();
    }
    Ok(())
}

/// A read through `from time import time [as alias]`: the import names
/// `monotonic` instead (and, without an alias, the call says `monotonic()`),
/// if every use of the bound name is a read that moves.
fn bare_name<'t>(ctx: &Ctx<'t>, callee: Node<'t>, moving: &HashSet<usize>) -> Result<Vec<Edit>, String> {
    let name = ctx.text(callee);
    let in_use =
        || format!("reads `{name}()` through `from time import time`, and other code here still uses `{name}`");
    let (scope, imported, alias) = binding_import(ctx, callee, name).ok_or_else(|| {
        format!("reads `{name}()`, bound by an import tame does not rewrite (only `from time import time`)")
    })?;
    let mut uses = Vec::new();
    let mut monotonic_spelled = false;
    ctx.walk(
        scope,
        |_| true,
        |n| {
            // Attribute names (`x.time`) and keyword names (`f(time=1)`) are no uses.
            let field_of = |kind: &str, field: &str| {
                n.parent().is_some_and(|p| {
                    p.kind_fast() == kind && p.child_by_field_name(field).is_some_and(|f| f.id() == n.id())
                })
            };
            if n.kind_fast() == "identifier"
                && !field_of("attribute", "attribute")
                && !field_of("keyword_argument", "name")
            {
                let t = ctx.text(n);
                if t == name && !in_import(n) {
                    uses.push(n);
                }
                monotonic_spelled |= t == "monotonic";
            }
        },
    );
    if uses.iter().any(|u| !moving.contains(&u.id())) {
        return Err(in_use());
    }
    let mut edits = vec![Edit::replace(imported.byte_range(), "monotonic")];
    if !alias {
        if monotonic_spelled {
            return Err(format!("reads `{name}()`, and `monotonic` already names something here"));
        }
        edits.push(Edit::replace(callee.byte_range(), "monotonic"));
    }
    Ok(edits)
}

/// The import binding `name` where `at` reads it: the scope it binds in,
/// the imported name's node (`time` in `from time import time`), and
/// whether it is aliased. `None` if `name` is bound another way.
fn binding_import<'t>(ctx: &Ctx<'t>, at: Node<'t>, name: &str) -> Option<(Node<'t>, Node<'t>, bool)> {
    let mut scope = Some(at);
    while let Some(s) = scope {
        let is_scope = matches!(s.kind_fast(), "function_definition" | "module");
        if is_scope && let Some(found) = import_in(ctx, s, name) {
            return Some(found);
        }
        scope = s.parent();
    }
    None
}

/// In `scope`'s own statements (not nested scopes): `from time import time`
/// binding `name`.
fn import_in<'t>(ctx: &Ctx<'t>, scope: Node<'t>, name: &str) -> Option<(Node<'t>, Node<'t>, bool)> {
    let mut found = None;
    ctx.walk(
        scope,
        |n| n.id() == scope.id() || !crate::python::is_scope(n.kind_fast()),
        |n| {
            if found.is_some() || n.kind_fast() != "import_from_statement" {
                return;
            }
            let module = n.child_by_field_name("module_name").map(|m| ctx.text(m));
            if module != Some("time") {
                return;
            }
            let mut cursor = n.walk();
            for item in n.children_by_field_name("name", &mut cursor) {
                let (imported, bound, alias) = match item.kind_fast() {
                    "aliased_import" => {
                        let (Some(i), Some(a)) = (item.child_by_field_name("name"), item.child_by_field_name("alias"))
                        else {
                            continue;
                        };
                        (i, ctx.text(a), true)
                    }
                    _ => (item, ctx.text(item), false),
                };
                if bound == name && ctx.text(imported) == "time" {
                    found = Some((scope, imported, alias));
                }
            }
        },
    );
    found
}

/// Whether an identifier is part of an import statement (a module path,
/// an imported name or an alias: no use of a binding).
fn in_import(n: Node<'_>) -> bool {
    let mut cur = n.parent();
    while let Some(p) = cur {
        match p.kind_fast() {
            "import_statement" | "import_from_statement" | "future_import_statement" => return true,
            "dotted_name" | "aliased_import" => cur = p.parent(),
            _ => return false,
        }
    }
    false
}

/// A `datetime.now()`/`utcnow()` read compared with or subtracted from
/// something: what it takes part in.
fn datetime_deadline(ctx: &Ctx<'_>, call: Node<'_>) -> Option<&'static str> {
    let f = call.child_by_field_name("function")?;
    let last = match f.kind_fast() {
        "attribute" => ctx.text(f.child_by_field_name("attribute")?),
        "identifier" => ctx.text(f),
        _ => return None,
    };
    if !matches!(last, "now" | "utcnow") && f.kind_fast() == "attribute" {
        return None;
    }
    let path = ctx.resolver().resolve(f)?;
    if !matches!(path.as_str(), "datetime.datetime.now" | "datetime.datetime.utcnow" | "oslo_utils.timeutils.utcnow") {
        return None;
    }
    let mut cur = call;
    while let Some(p) = cur.parent() {
        match p.kind_fast() {
            "parenthesized_expression" => cur = p,
            "binary_operator" => {
                let op = p.child_by_field_name("operator").map(|o| ctx.text(o));
                if op == Some("-") {
                    return Some("a difference of times");
                }
                cur = p;
            }
            "comparison_operator" => return Some("compared with a deadline"),
            _ => return None,
        }
    }
    None
}
