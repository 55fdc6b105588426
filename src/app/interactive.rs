//! `tame fix --interactive`: review each change and accept it or not, like
//! `git add -p`. Answers are read line by line from stdin, so the flow can be
//! driven by a pipe (and is tested that way).
//!
//! y: apply this change; n: skip it; a: apply this and every remaining change;
//! q: skip this and every remaining change. End of input counts as q.

use std::io::{BufRead, Write};

use crate::app::runner::{Work, is_package_init};
use crate::emit::diff;
use crate::pipeline::edits::Fix;
use crate::pipeline::engine;
use crate::transforms::FindingKind;

#[derive(Clone, Copy, PartialEq, Eq)]
enum Answer {
    Yes,
    No,
    All,
    Quit,
}

fn ask(out: &mut impl Write, input: &mut impl BufRead, prompt: &str) -> std::io::Result<Answer> {
    loop {
        write!(out, "{prompt} [y,n,a,q,?]? ")?;
        out.flush()?;
        let mut line = String::new();
        if input.read_line(&mut line)? == 0 {
            writeln!(out)?;
            return Ok(Answer::Quit);
        }
        match line.trim() {
            "y" | "Y" | "yes" => return Ok(Answer::Yes),
            "n" | "N" | "no" => return Ok(Answer::No),
            "a" | "A" => return Ok(Answer::All),
            "q" | "Q" => return Ok(Answer::Quit),
            _ => writeln!(
                out,
                "y - apply this change\nn - skip it\na - apply this and all remaining changes\nq - quit; skip this and all remaining changes"
            )?,
        }
    }
}

/// Walks through every site of every file; sets, per file, the new bytes
/// for the accepted changes (files with none accepted get none). A declined
/// site becomes a candidate left alone (class `declined`), so the report and
/// the summary line count only the accepted changes. Returns how many were
/// accepted.
pub fn review(
    work: &mut [Work],
    out: &mut impl Write,
    input: &mut impl BufRead,
    color: bool,
) -> std::io::Result<usize> {
    let mut mode: Option<Answer> = None;
    let mut accepted_total = 0;
    for w in work.iter_mut() {
        w.new = None;
        if w.outcome.error.is_some() {
            continue;
        }
        // Indices of the sites, in order: a declined site stops being one
        // (see below), so the report and the summary count only what was accepted.
        let sites: Vec<usize> = (0..w.outcome.findings.len())
            .filter(|&i| matches!(w.outcome.findings[i].finding.kind, FindingKind::Site(_)))
            .collect();
        let mut accepted: Vec<usize> = Vec::new();
        let mut declined: Vec<usize> = Vec::new();
        for &i in &sites {
            let answer = match mode {
                Some(m) => m,
                None => {
                    let FindingKind::Site(fix) = &w.outcome.findings[i].finding.kind else { continue };
                    match engine::apply_selected(&w.original, &[fix], is_package_init(&w.path)) {
                        Ok(preview) => {
                            let d = diff::unified(&w.outcome.display, &w.original, &preview);
                            out.write_all(&if color { diff::colorize(&d) } else { d })?;
                        }
                        Err(e) => writeln!(out, "(cannot preview: {e})")?,
                    }
                    let line = w.outcome.findings[i].start.0;
                    let a = ask(out, input, &format!("Apply this change to {}:{line}", w.outcome.display))?;
                    if matches!(a, Answer::All | Answer::Quit) {
                        mode = Some(a);
                    }
                    a
                }
            };
            if matches!(answer, Answer::Yes | Answer::All) {
                accepted.push(i);
            } else {
                declined.push(i);
            }
        }
        for &i in &declined {
            let finding = &mut w.outcome.findings[i].finding;
            finding.kind = FindingKind::LeftAlone {
                class: "declined".into(),
                evidence: "declined in interactive review; not written".into(),
            };
        }
        let fixes: Vec<&Fix> = accepted
            .iter()
            .filter_map(|&i| match &w.outcome.findings[i].finding.kind {
                FindingKind::Site(fix) => Some(fix),
                FindingKind::LeftAlone { .. } => None,
            })
            .collect();
        if fixes.is_empty() {
            w.outcome.changed = false;
            w.outcome.diff = None;
            continue;
        }
        match engine::apply_selected(&w.original, &fixes, is_package_init(&w.path)) {
            Ok(bytes) => {
                accepted_total += fixes.len();
                // A dry run shows the diff of what was accepted, not of every site.
                if w.outcome.diff.is_some() {
                    w.outcome.diff = Some(diff::unified(&w.outcome.display, &w.original, &bytes));
                }
                w.new = Some(bytes);
            }
            Err(e) => {
                w.outcome.changed = false;
                w.outcome.diff = None;
                w.outcome.error = Some(e.to_string());
            }
        }
    }
    Ok(accepted_total)
}
