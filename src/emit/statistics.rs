//! `tame check --statistics`: counts per transform and class instead of one
//! line per site, like `ruff check --statistics`.
//!
//! A site's class is `site`; a candidate left alone has its own class
//! (`already-bounded`, `suppressed`, ...) and is counted only where the
//! output shows candidates left alone (`--explain`, JSON). `fixable` counts
//! the sites whose fix has an edit: what `tame fix` would rewrite.

use std::collections::BTreeMap;
use std::io::{self, Write};

use serde::Serialize;

use crate::emit::output::FileOutcome;
use crate::transforms::FindingKind;

/// One row: how many findings of one transform and class.
#[derive(Debug, Serialize, PartialEq, Eq)]
pub struct Row<'a> {
    pub count: usize,
    pub transform: &'a str,
    pub class: &'a str,
    pub fixable: usize,
}

/// The rows, sites first, then the classes left alone, each by count (most
/// first), then transform and class.
pub fn rows<'a>(files: &[&'a FileOutcome], left_alone: bool) -> Vec<Row<'a>> {
    let mut counts: BTreeMap<(bool, &'a str, &'a str), (usize, usize)> = BTreeMap::new();
    for f in files {
        for l in &f.findings {
            let (key, fixable) = match &l.finding.kind {
                FindingKind::Site(fix) => ((false, l.finding.transform, "site"), !fix.edits.is_empty()),
                FindingKind::LeftAlone { class, .. } if left_alone => {
                    ((true, l.finding.transform, class.as_str()), false)
                }
                FindingKind::LeftAlone { .. } => continue,
            };
            let c = counts.entry(key).or_default();
            c.0 += 1;
            c.1 += usize::from(fixable);
        }
    }
    let mut rows: Vec<(bool, Row<'a>)> = counts
        .into_iter()
        .map(|((alone, transform, class), (count, fixable))| (alone, Row { count, transform, class, fixable }))
        .collect();
    rows.sort_by(|(a, x), (b, y)| {
        a.cmp(b).then(y.count.cmp(&x.count)).then(x.transform.cmp(y.transform)).then(x.class.cmp(y.class))
    });
    rows.into_iter().map(|(_, r)| r).collect()
}

/// Text: `COUNT  TRANSFORM  CLASS  [fixable N]`, columns aligned, the
/// count right-aligned; nothing when there is nothing to count.
pub fn text(out: &mut impl Write, rows: &[Row]) -> io::Result<()> {
    let count_w = rows.iter().map(|r| r.count.to_string().len()).max().unwrap_or(0);
    let id_w = rows.iter().map(|r| r.transform.len()).max().unwrap_or(0);
    let class_w = rows.iter().map(|r| r.class.len()).max().unwrap_or(0);
    for r in rows {
        writeln!(out, "{:>count_w$}  {:<id_w$}  {:<class_w$}  [fixable {}]", r.count, r.transform, r.class, r.fixable)?;
    }
    Ok(())
}

/// JSON: an array of `{count, transform, class, fixable}`.
pub fn json(out: &mut impl Write, rows: &[Row]) -> io::Result<()> {
    serde_json::to_writer_pretty(&mut *out, rows).map_err(io::Error::other)?;
    writeln!(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_aligns_columns_and_right_aligns_counts() {
        let rows = [
            Row { count: 12, transform: "bounded-retry", class: "site", fixable: 12 },
            Row { count: 3, transform: "driver-load-error", class: "caller", fixable: 0 },
        ];
        let mut out = Vec::new();
        text(&mut out, &rows).unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "12  bounded-retry      site    [fixable 12]\n 3  driver-load-error  caller  [fixable 0]\n"
        );
    }
}
