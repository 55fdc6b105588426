//! Everything tame prints: diffs, `check` findings (text and JSON), errors and
//! the summary line. Nothing else in the crate prints.

use std::collections::BTreeMap;
use std::io::{self, Write};

use serde::Serialize;

use crate::pipeline::edits::Applicability;
use crate::pipeline::engine::Located;
use crate::transforms::FindingKind;

/// The outcome of one file, as the runner hands it to output.
#[derive(Default)]
pub struct FileOutcome {
    /// The path as shown: relative to the current directory when possible.
    pub display: String,
    pub findings: Vec<Located>,
    /// The file's diff (dry run) if it changed.
    pub diff: Option<Vec<u8>>,
    pub changed: bool,
    pub error: Option<String>,
    /// How the file was read: prefiltered out, parsed partially, or parsed whole.
    pub parse: ParseKind,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ParseKind {
    #[default]
    None,
    Prefiltered,
    Partial,
    Full,
}

/// Prints `tame check` text lines.
pub fn check_text(out: &mut impl Write, files: &[&FileOutcome], explain: bool) -> io::Result<()> {
    for f in files {
        for l in &f.findings {
            let (line, col) = l.start;
            match &l.finding.kind {
                FindingKind::Site(_) => {
                    writeln!(out, "{}:{line}:{col}: {} {}", f.display, l.finding.transform, l.finding.message)?
                }
                FindingKind::LeftAlone { class, evidence } if explain => {
                    writeln!(out, "{}:{line}:{col}: {} skipped [{class}] {evidence}", f.display, l.finding.transform)?
                }
                FindingKind::LeftAlone { .. } => {}
            }
        }
    }
    Ok(())
}

#[derive(Serialize)]
struct Position {
    line: usize,
    column: usize,
}

#[derive(Serialize)]
struct JsonEdit {
    start: Position,
    end: Position,
    content: String,
}

#[derive(Serialize)]
struct JsonSite<'a> {
    path: &'a str,
    transform: &'a str,
    message: &'a str,
    start: Position,
    end: Position,
    applicability: Applicability,
    edits: Vec<JsonEdit>,
    header: Vec<&'a str>,
}

#[derive(Serialize)]
struct JsonSkipped<'a> {
    path: &'a str,
    transform: &'a str,
    class: &'a str,
    evidence: &'a str,
    start: Position,
    end: Position,
}

#[derive(Serialize)]
struct JsonError<'a> {
    path: &'a str,
    message: &'a str,
}

#[derive(Serialize)]
struct JsonReport<'a> {
    version: u32,
    tool: &'static str,
    tool_version: &'static str,
    sites: Vec<JsonSite<'a>>,
    skipped: Vec<JsonSkipped<'a>>,
    errors: Vec<JsonError<'a>>,
}

/// `tame check --format json`: one document, schema in the README.
pub fn check_json(out: &mut impl Write, files: &[&FileOutcome], walk_errors: &[(String, String)]) -> io::Result<()> {
    let mut report = JsonReport {
        version: 1,
        tool: "tame",
        tool_version: env!("CARGO_PKG_VERSION"),
        sites: Vec::new(),
        skipped: Vec::new(),
        errors: walk_errors.iter().map(|(path, message)| JsonError { path, message }).collect(),
    };
    for f in files {
        if let Some(e) = &f.error {
            report.errors.push(JsonError { path: &f.display, message: e });
        }
        for l in &f.findings {
            let pos = |(line, column): (usize, usize)| Position { line, column };
            match &l.finding.kind {
                FindingKind::Site(fix) => report.sites.push(JsonSite {
                    path: &f.display,
                    transform: l.finding.transform,
                    message: &l.finding.message,
                    start: pos(l.start),
                    end: pos(l.end),
                    applicability: fix.applicability,
                    edits: fix
                        .edits
                        .iter()
                        .zip(&l.edit_positions)
                        .map(|(e, (start, end))| JsonEdit {
                            start: pos(*start),
                            end: pos(*end),
                            content: e.text.clone(),
                        })
                        .collect(),
                    header: fix
                        .header
                        .iter()
                        .map(|h| match h {
                            crate::pipeline::edits::HeaderItem::Import { statement } => statement.as_str(),
                            crate::pipeline::edits::HeaderItem::Definition { text, .. } => text.as_str(),
                        })
                        .collect(),
                }),
                FindingKind::LeftAlone { class, evidence } => report.skipped.push(JsonSkipped {
                    path: &f.display,
                    transform: l.finding.transform,
                    class,
                    evidence,
                    start: pos(l.start),
                    end: pos(l.end),
                }),
            }
        }
    }
    serde_json::to_writer_pretty(&mut *out, &report).map_err(io::Error::other)?;
    writeln!(out)
}

/// `tame check --format github`: GitHub Actions workflow commands.
pub fn check_github(out: &mut impl Write, files: &[&FileOutcome]) -> io::Result<()> {
    // Workflow command values escape %, CR and LF; properties also escape : and ,.
    let data = |s: &str| s.replace('%', "%25").replace('\r', "%0D").replace('\n', "%0A");
    let prop = |s: &str| data(s).replace(':', "%3A").replace(',', "%2C");
    for f in files {
        for l in &f.findings {
            if let FindingKind::Site(_) = l.finding.kind {
                writeln!(
                    out,
                    "::warning title={},file={},line={},col={},endLine={},endColumn={}::{}",
                    prop(&format!("tame {}", l.finding.transform)),
                    prop(&f.display),
                    l.start.0,
                    l.start.1,
                    l.end.0,
                    l.end.1,
                    data(&l.finding.message)
                )?;
            }
        }
        if let Some(e) = &f.error {
            writeln!(out, "::error file={}::{}", prop(&f.display), data(e))?;
        }
    }
    Ok(())
}

/// Counts for the summary line.
#[derive(Default)]
pub struct Summary {
    pub scanned: usize,
    pub changed: usize,
    pub sites: BTreeMap<&'static str, usize>,
    pub errors: usize,
    pub symlinks: usize,
    /// Files with a region tame could not parse that could hold a candidate.
    pub unparsed: usize,
}

impl Summary {
    pub fn line(&self, verb: &str) -> String {
        let sites: usize = self.sites.values().sum();
        let per: Vec<String> = self.sites.iter().map(|(id, n)| format!("{id}: {n}")).collect();
        let mut s = format!(
            "tame: {} file{} scanned, {} {verb}, {sites} site{}",
            self.scanned,
            plural(self.scanned),
            self.changed,
            plural(sites)
        );
        if !per.is_empty() {
            s.push_str(&format!(" ({})", per.join(", ")));
        }
        let mut skipped = Vec::new();
        if self.errors > 0 {
            skipped.push(format!("{} with errors", self.errors));
        }
        if self.symlinks > 0 {
            skipped.push(format!("{} symbolic link{}", self.symlinks, plural(self.symlinks)));
        }
        if !skipped.is_empty() {
            s.push_str(&format!("; skipped: {}", skipped.join(", ")));
        }
        if self.unparsed > 0 {
            s.push_str(&format!(
                "; {} file{} with code tame could not parse (-v lists it)",
                self.unparsed,
                plural(self.unparsed)
            ));
        }
        s
    }
}

fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}
