//! `tame check --format sarif`: SARIF 2.1.0, for code-scanning dashboards.
//!
//! Rule metadata comes from the transform specs; each result carries a
//! `fixes` entry whose replacements are the site's edits. Columns count
//! Unicode code points (declared with `columnKind`), as tame's text output does.

use std::io::{self, Write};

use serde_json::{Value, json};

use crate::emit::output::FileOutcome;
use crate::transforms::{self, FindingKind};

fn region((sl, sc): (usize, usize), (el, ec): (usize, usize)) -> Value {
    json!({ "startLine": sl, "startColumn": sc, "endLine": el, "endColumn": ec })
}

pub fn write(out: &mut impl Write, files: &[&FileOutcome]) -> io::Result<()> {
    let specs = transforms::specs();
    let rules: Vec<Value> = specs
        .iter()
        .map(|s| {
            json!({
                "id": s.id,
                "name": s.id.split('-').map(|w| { let mut c = w.chars(); c.next().map(|f| f.to_uppercase().collect::<String>() + c.as_str()).unwrap_or_default() }).collect::<String>(),
                "shortDescription": { "text": s.summary },
                "fullDescription": { "text": s.docs.what.trim() },
                "help": {
                    "text": format!("{}\n\nFix safety: {}", s.docs.why.trim(), s.docs.fix_safety.trim()),
                    "markdown": format!("{}\n\n**Fix safety.** {}\n\n```python\n{}\n```", s.docs.why.trim(), s.docs.fix_safety.trim(), s.docs.after.trim()),
                },
                "defaultConfiguration": { "level": "warning" },
                "properties": { "tags": ["robustness"] },
            })
        })
        .collect();
    let mut results = Vec::new();
    for f in files {
        for l in &f.findings {
            let FindingKind::Site(fix) = &l.finding.kind else { continue };
            let Some(rule_index) = specs.iter().position(|s| s.id == l.finding.transform) else { continue };
            let location = json!({ "uri": f.display });
            let replacements: Vec<Value> = fix
                .edits
                .iter()
                .zip(&l.edit_positions)
                .map(|(e, (start, end))| json!({ "deletedRegion": region(*start, *end), "insertedContent": { "text": e.text } }))
                .collect();
            results.push(json!({
                "ruleId": l.finding.transform,
                "ruleIndex": rule_index,
                "level": "warning",
                "message": { "text": l.finding.message },
                "locations": [{ "physicalLocation": { "artifactLocation": location, "region": region(l.start, l.end) } }],
                "fixes": [{
                    "description": { "text": format!("Apply {}", l.finding.transform) },
                    "artifactChanges": [{ "artifactLocation": location, "replacements": replacements }],
                }],
            }));
        }
    }
    let doc = json!({
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{
            "tool": { "driver": {
                "name": "tame",
                "version": env!("CARGO_PKG_VERSION"),
                "informationUri": "https://github.com/tame-codemod/tame",
                "rules": rules,
            }},
            "columnKind": "unicodeCodePoints",
            "results": results,
        }],
    });
    serde_json::to_writer_pretty(&mut *out, &doc).map_err(io::Error::other)?;
    writeln!(out)
}
