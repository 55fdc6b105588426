//! The edit vocabulary: [`Edit`], [`Fix`], [`Applicability`], and applying fixes.
//!
//! A transform never writes text itself. It describes each site's change as a
//! `Fix`: byte-range edits plus the module-level additions it needs (imports,
//! a class definition). Applying merges the fixes of all transforms: fixes that
//! overlap an earlier one are dropped for this pass (the pipeline runs again
//! until nothing changes), and header additions are deduplicated and rendered
//! once, at the module's header insertion point.

use std::ops::Range;

use serde::Serialize;

/// Replace `range` (byte offsets into the source text) with `text`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Edit {
    pub range: Range<usize>,
    pub text: String,
}

impl Edit {
    pub fn replace(range: Range<usize>, text: impl Into<String>) -> Edit {
        Edit { range, text: text.into() }
    }
    pub fn insert(at: usize, text: impl Into<String>) -> Edit {
        Edit { range: at..at, text: text.into() }
    }
}

/// How much a reviewer should look at a fix.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Applicability {
    /// Behaviour is unchanged on every path.
    Safe,
    /// Behaviour is unchanged on the normal path; the failure path changes on
    /// purpose (a bound now ends a loop, an exception replaces an exit).
    Review,
}

/// Something a fix needs at module level, added once per file.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum HeaderItem {
    /// An import statement, rendered (`import time`, `from x import Y`).
    Import { statement: String },
    /// A top-level definition (a class), keyed by the name it binds. `text`
    /// uses `\n`; it is rendered with the file's line ending.
    Definition { name: String, text: String },
}

/// The change for one site.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Fix {
    pub edits: Vec<Edit>,
    pub header: Vec<HeaderItem>,
    pub applicability: Applicability,
}

impl Fix {
    /// Whether an edit overlaps (or inserts at the same offset as) a taken
    /// edit. An edit identical to a taken one is shared, not a conflict: two
    /// exits in one handler both need the same `as exc`.
    fn conflicts_with(&self, taken: &[&Edit]) -> bool {
        self.edits.iter().any(|e| {
            taken.iter().any(|t| {
                *t != e
                    && ((e.range.start < t.range.end && t.range.start < e.range.end) || e.range.start == t.range.start)
            })
        })
    }
}

/// The result of applying fixes to a text.
pub struct Applied {
    pub text: String,
    /// Indices (into the input slice) of the fixes that were applied.
    pub applied: Vec<usize>,
}

/// Applies non-overlapping fixes, in order, plus their merged header items:
/// imports each where `plan` puts it, definitions at `plan.at`. `eol` is the
/// file's line ending.
pub fn apply(text: &str, fixes: &[&Fix], plan: &crate::python::header::HeaderPlan, eol: &str) -> Applied {
    let header_at = plan.at;
    let mut applied = Vec::new();
    let mut edits: Vec<(usize, u8, &Edit)> = Vec::new();
    let mut header: Vec<&HeaderItem> = Vec::new();
    for (i, fix) in fixes.iter().enumerate() {
        let in_bounds = fix.edits.iter().all(|e| {
            e.range.start <= e.range.end
                && e.range.end <= text.len()
                && text.is_char_boundary(e.range.start)
                && text.is_char_boundary(e.range.end)
        });
        let taken: Vec<&Edit> = edits.iter().map(|(_, _, e)| *e).collect();
        if !in_bounds || fix.conflicts_with(&taken) {
            continue;
        }
        for e in &fix.edits {
            if !taken.contains(&e) {
                edits.push((e.range.start, 1, e));
            }
        }
        for item in &fix.header {
            if !header.contains(&item) {
                header.push(item);
            }
        }
        applied.push(i);
    }
    // Imports first, each at its own slot (in order where two share one),
    // then the definitions; priority 0: module additions go before a fix's
    // insertion at the same offset.
    let mut imports: Vec<(usize, &str, bool)> = Vec::new();
    for item in &header {
        if let HeaderItem::Import { statement } = item
            && !imports.iter().any(|(_, s, _)| s == statement)
        {
            let (at, blank) = plan.import_slot(statement);
            imports.push((at, statement, blank));
        }
    }
    imports.sort_by_key(|a| (a.0, a.1.to_ascii_lowercase()));
    let import_edits: Vec<Edit> = imports
        .iter()
        .map(|&(at, statement, blank)| {
            let before = &text[..at];
            let lead = if !before.is_empty() && !before.ends_with(['\n', '\r']) { eol } else { "" };
            Edit::insert(at, format!("{lead}{statement}{eol}{}", if blank { eol } else { "" }))
        })
        .collect();
    for e in &import_edits {
        edits.push((e.range.start, 0, e));
    }
    let header_text = render_header(text, &header, header_at, eol);
    let header_edit = Edit::insert(header_at, header_text);
    if !header_edit.text.is_empty() {
        edits.push((header_at, 0, &header_edit));
    }
    edits.sort_by_key(|(start, prio, e)| (*start, *prio, e.range.end));
    let mut out = String::with_capacity(text.len() + 256);
    let mut pos = 0;
    for (_, _, e) in edits {
        out.push_str(&text[pos..e.range.start]);
        out.push_str(&e.text);
        pos = e.range.end;
    }
    out.push_str(&text[pos..]);
    Applied { text: out, applied }
}

/// The definitions of `items` (imports go elsewhere: [`apply`]).
fn render_header(text: &str, items: &[&HeaderItem], at: usize, eol: &str) -> String {
    let mut defs: Vec<&str> = Vec::new();
    for item in items {
        if let HeaderItem::Definition { text, .. } = item
            && !defs.contains(&text.as_str())
        {
            defs.push(text);
        }
    }
    let imports_here = items.iter().any(|i| matches!(i, HeaderItem::Import { .. }));
    if defs.is_empty() {
        return String::new();
    }
    let mut out = String::new();
    let before = &text[..at];
    if !before.is_empty() && !before.ends_with('\n') && !before.ends_with('\r') {
        out.push_str(eol);
    }
    if !defs.is_empty() {
        if !before.trim().is_empty() || imports_here {
            out.push_str(eol);
            out.push_str(eol);
        }
        for (i, def) in defs.iter().enumerate() {
            if i > 0 {
                out.push_str(eol);
                out.push_str(eol);
            }
            for line in def.lines() {
                out.push_str(line);
                out.push_str(eol);
            }
        }
        // PEP 8: two blank lines after a top-level definition.
        let blank_after = text[at..].lines().take_while(|l| l.trim().is_empty()).count();
        let rest_is_empty = text[at..].trim().is_empty();
        if !rest_is_empty {
            for _ in blank_after..2 {
                out.push_str(eol);
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::python::header::HeaderPlan;

    fn fix(edits: Vec<Edit>, header: Vec<HeaderItem>) -> Fix {
        Fix { edits, header, applicability: Applicability::Review }
    }

    #[test]
    fn drops_overlapping_fixes_and_keeps_order() {
        let text = "abcdef";
        let a = fix(vec![Edit::replace(1..3, "X")], vec![]);
        let b = fix(vec![Edit::replace(2..4, "Y")], vec![]);
        let c = fix(vec![Edit::insert(5, "Z")], vec![]);
        let r = apply(text, &[&a, &b, &c], &HeaderPlan::at(0), "\n");
        assert_eq!(r.text, "aXdeZf");
        assert_eq!(r.applied, [0, 2]);
    }

    #[test]
    fn identical_edits_are_shared() {
        let text = "except E:\n    a\n    b\n";
        let bind = Edit::insert(8, " as exc");
        let a = fix(vec![bind.clone(), Edit::replace(14..15, "A")], vec![]);
        let b = fix(vec![bind, Edit::replace(20..21, "B")], vec![]);
        let r = apply(text, &[&a, &b], &HeaderPlan::at(0), "\n");
        assert_eq!(r.text, "except E as exc:\n    A\n    B\n");
        assert_eq!(r.applied, [0, 1]);
    }

    #[test]
    fn merges_header_imports_once() {
        let text = "import os\nx = 1\n";
        let imp = HeaderItem::Import { statement: "import time".into() };
        let a = fix(vec![Edit::replace(10..11, "y")], vec![imp.clone()]);
        let b = fix(vec![Edit::replace(14..15, "2")], vec![imp]);
        let r = apply(text, &[&a, &b], &HeaderPlan::at(10), "\n");
        assert_eq!(r.text, "import os\nimport time\ny = 2\n");
    }

    #[test]
    fn definitions_get_pep8_blank_lines() {
        let text = "import os\n\nLOG = 1\n";
        let def = HeaderItem::Definition { name: "E".into(), text: "class E(Exception):\n    pass\n".into() };
        let a = fix(vec![Edit::replace(11..14, "LOG")], vec![def]);
        let r = apply(text, &[&a], &HeaderPlan::at(10), "\r\n");
        assert_eq!(r.text, "import os\n\r\n\r\nclass E(Exception):\r\n    pass\r\n\r\n\nLOG = 1\n");
    }
}
