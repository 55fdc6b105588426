//! The queries of all embedded transform specs, compiled as one.
//!
//! tree-sitter analyses the grammar's parse table for each query it
//! compiles: about a millisecond per query for Python, whatever its size,
//! paid by every run that reaches a candidate (a third of the time of a
//! one-file run). Most of that work is shared between queries, so the
//! specs' queries are compiled together, once, and each spec keeps only the
//! matches of its own patterns (see [`QuerySet::patterns`]).

use std::ops::Range;
use std::sync::OnceLock;

use tree_sitter::Query;

use super::spec::Spec;
use super::specs;

pub struct QuerySet {
    pub query: Query,
    /// Per spec, in [`specs`] order: the indices of its patterns.
    patterns: Vec<Range<usize>>,
}

impl QuerySet {
    /// The combined query of every embedded spec; `None` if it did not
    /// compile (each spec then uses its own query, [`Spec::query`]).
    pub fn get() -> Option<&'static QuerySet> {
        static SET: OnceLock<Option<QuerySet>> = OnceLock::new();
        SET.get_or_init(|| QuerySet::compile(specs())).as_ref()
    }

    fn compile(specs: &[Spec]) -> Option<QuerySet> {
        let mut source = String::new();
        let mut spans = Vec::with_capacity(specs.len());
        for spec in specs {
            let start = source.len();
            source.push_str(spec.query_source());
            spans.push(start..source.len());
            source.push('\n');
        }
        let query = Query::new(&crate::python::parse::language(), &source).ok()?;
        // Patterns keep their source order, so each spec's are contiguous.
        let patterns = spans
            .iter()
            .map(|span| {
                let mine: Vec<usize> =
                    (0..query.pattern_count()).filter(|&p| span.contains(&query.start_byte_for_pattern(p))).collect();
                mine.first().map_or(0..0, |&first| first..first + mine.len())
            })
            .collect();
        Some(QuerySet { query, patterns })
    }

    /// The patterns of `spec`, or `None` if it is not an embedded spec.
    pub fn patterns(&self, spec: &Spec) -> Option<Range<usize>> {
        let i = specs().iter().position(|s| std::ptr::eq(s, spec))?;
        self.patterns.get(i).cloned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_spec_owns_exactly_its_own_patterns() {
        let set = QuerySet::get().expect("the embedded queries compile together");
        let mut total = 0;
        for spec in specs() {
            let own = spec.query();
            let mine = set.patterns(spec).expect("an embedded spec");
            assert_eq!(mine.len(), own.pattern_count(), "{}", spec.id);
            for (k, p) in mine.enumerate() {
                // The same pattern text, at the same place in the spec's source.
                let offset = set.query.start_byte_for_pattern(p) - set.query.start_byte_for_pattern(total);
                assert_eq!(offset, own.start_byte_for_pattern(k) - own.start_byte_for_pattern(0), "{}", spec.id);
            }
            total += own.pattern_count();
        }
        assert_eq!(total, set.query.pattern_count());
    }
}
