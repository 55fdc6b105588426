//! Which statements a partial parse keeps: those matching every block
//! regex of some transform, and, for a definition, what its sites need too.

use std::ops::Range;

use regex::bytes::Regex;

/// What keeps a statement for one transform.
#[derive(Clone, Copy)]
pub struct KeepSet<'a> {
    /// Each of these must match in the statement (its block regexes).
    pub all: &'a [Regex],
    /// And, if the statement is a definition (`def`, `async def`, `class`,
    /// a decorator), this one too, in the statement's own text (see
    /// `Transform::site_context`).
    pub in_definitions: Option<&'a Regex>,
}

/// The keep sets of one file, with their block regexes' matches.
pub(super) struct Keep<'a> {
    bytes: &'a [u8],
    sets: &'a [KeepSet<'a>],
    /// Per set, per block regex: its matches in the whole text, in order.
    spans: Vec<Vec<Vec<Range<usize>>>>,
}

impl<'a> Keep<'a> {
    /// One pass per block regex over the whole text, then a binary search
    /// per statement, rather than a regex call per statement. A statement
    /// counts as matching if a match intersects it: whatever a regex matches
    /// inside a statement alone, the whole-text search finds a match
    /// intersecting it (block regexes have no anchors and never match the
    /// empty string; see `Spec::load`), so this keeps at least what
    /// per-statement matching did.
    pub(super) fn new(bytes: &'a [u8], sets: &'a [KeepSet<'a>]) -> Keep<'a> {
        let spans = sets
            .iter()
            .map(|set| set.all.iter().map(|re| re.find_iter(bytes).map(|m| m.range()).collect()).collect())
            .collect();
        Keep { bytes, sets, spans }
    }

    /// Whether some set keeps the statement at `r`. `in_definitions` is
    /// searched only in the few definitions the block regexes keep, each on
    /// its own (as `Transform::site_context` asks).
    pub(super) fn keeps(&self, r: &Range<usize>) -> bool {
        let hits = |found: &[Range<usize>]| {
            let i = found.partition_point(|m| m.end <= r.start);
            found.get(i).is_some_and(|m| m.start < r.end)
        };
        let text = &self.bytes[r.clone()];
        self.spans.iter().zip(self.sets).any(|(all, set)| {
            all.iter().all(|found| hits(found))
                && set.in_definitions.is_none_or(|re| !is_definition(text) || re.is_match(text))
        })
    }
}

/// Whether a statement (from its first character) is a definition: `def`,
/// `class`, `async def` or a decorator. Anything else (`async with`, an `if`
/// at module level) is not, whatever it holds.
pub(crate) fn is_definition(stmt: &[u8]) -> bool {
    let keyword = |w: &[u8], s: &[u8]| {
        s.starts_with(w) && s.get(w.len()).is_some_and(|c| matches!(c, b' ' | b'\t' | b'\x0c' | b'\\'))
    };
    if let Some(rest) = stmt.strip_prefix(b"async") {
        let gap = rest.iter().take_while(|c| matches!(c, b' ' | b'\t' | b'\x0c')).count();
        return gap > 0 && keyword(b"def", &rest[gap..]);
    }
    stmt.first() == Some(&b'@') || keyword(b"def", stmt) || keyword(b"class", stmt)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn re(s: &str) -> Regex {
        Regex::new(s).unwrap()
    }

    #[test]
    fn definitions_may_need_more_than_the_block_regexes() {
        assert!(is_definition(b"def f():"));
        assert!(is_definition(b"async  def f():"));
        assert!(is_definition(b"class A:"));
        assert!(is_definition(b"@decorator"));
        assert!(is_definition(b"def\\\n f():"));
        for not in [&b"async with x:"[..], b"if x:", b"try:", b"default = 1", b"classes = []", b"async_def = 1"] {
            assert!(!is_definition(not), "{}", String::from_utf8_lossy(not));
        }
        let exit = re(r"sys\.exit\(");
        let context = re("driver");
        let set = [KeepSet { all: std::slice::from_ref(&exit), in_definitions: Some(&context) }];
        let src = "import sys\n\n\ndef main():\n    sys.exit(2)\n\n\ndef load_driver():\n    sys.exit(1)\n\n\nif x:\n    sys.exit(3)\n";
        let r = super::super::reduce_with(src, &set, &[]).unwrap();
        let text = r.text.unwrap();
        assert!(!text.contains("exit(2)") && text.contains("exit(1)") && text.contains("exit(3)"), "{text}");
        // Without `in_definitions`, every block with an exit stays.
        let r = super::super::reduce(src, &[std::slice::from_ref(&exit)]).unwrap();
        assert!(r.text.is_none(), "nothing to blank");
        // Only module-level code (never a definition) can match then.
        assert!(!super::super::reduce_with("def main():\n    sys.exit(2)\n", &set, &[]).unwrap().matched);
    }
}
