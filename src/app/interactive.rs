//! `tame fix --interactive`: review each change and accept it or not, like
//! `git add -p`. Answers are read line by line from stdin, so the flow can be
//! driven by a pipe (and is tested that way).
//!
//! y: apply this change; n: skip it; a: apply this and every remaining change;
//! q: skip this and every remaining change. End of input counts as q.

use std::io::{BufRead, Write};

use crate::app::runner::Work;
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

/// Walks through every site of every file; returns, per file, the new bytes
/// for the accepted changes (files with none accepted are left out).
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
        let sites: Vec<(usize, &Fix)> = w
            .outcome
            .findings
            .iter()
            .filter_map(|l| match &l.finding.kind {
                FindingKind::Site(fix) => Some((l.start.0, fix)),
                FindingKind::LeftAlone { .. } => None,
            })
            .collect();
        let mut accepted: Vec<&Fix> = Vec::new();
        for (line, fix) in &sites {
            let answer = match mode {
                Some(m) => m,
                None => {
                    match engine::apply_selected(&w.original, &[fix]) {
                        Ok(preview) => {
                            let d = diff::unified(&w.outcome.display, &w.original, &preview);
                            out.write_all(&if color { diff::colorize(&d) } else { d })?;
                        }
                        Err(e) => writeln!(out, "(cannot preview: {e})")?,
                    }
                    let a = ask(out, input, &format!("Apply this change to {}:{line}", w.outcome.display))?;
                    if matches!(a, Answer::All | Answer::Quit) {
                        mode = Some(a);
                    }
                    a
                }
            };
            if matches!(answer, Answer::Yes | Answer::All) {
                accepted.push(fix);
            }
        }
        if accepted.is_empty() {
            w.outcome.changed = false;
            continue;
        }
        match engine::apply_selected(&w.original, &accepted) {
            Ok(bytes) => {
                accepted_total += accepted.len();
                w.new = Some(bytes);
            }
            Err(e) => {
                w.outcome.changed = false;
                w.outcome.error = Some(e.to_string());
            }
        }
    }
    Ok(accepted_total)
}
