//! The shortcut oracle: the same file, processed with every shortcut and in
//! the reference mode (none), must give the same findings and output.
//!
//! Shortcuts (the literal prefilter, partial parsing, query focusing) are
//! derived from each transform's [`Hints`](crate::transforms::hints::Hints),
//! and a hint that is too narrow makes sites vanish without any other test
//! failing. The reference mode takes no shortcut and checks every site
//! against every hint ([`crate::pipeline::engine::Shortcuts::NONE`]), so comparing the
//! two catches both a lost site and a hint that would lose one. The oracle
//! test (`tests/cli/oracle.rs`) runs this over every fixture of every
//! registered transform and over modules generated from those fixtures; the
//! fuzz target runs it over arbitrary bytes.

use crate::pipeline::engine::{self, FileError, Options, Shortcuts};
use crate::transforms::{FindingKind, Transform};

/// The three ways the CLI runs the pipeline, as (name, options with every
/// shortcut): a text `check` (sites only), `check --explain` and the JSON
/// and SARIF formats (candidates left alone too), and `fix` (applied).
pub const MODES: [(&str, Options); 3] = [
    (
        "check",
        Options {
            shortcuts: Shortcuts::ALL,
            apply: false,
            show_left_alone: false,
            line_length: None,
            package_init: false,
        },
    ),
    (
        "check --explain",
        Options {
            shortcuts: Shortcuts::ALL,
            apply: false,
            show_left_alone: true,
            line_length: None,
            package_init: false,
        },
    ),
    (
        "fix",
        Options {
            shortcuts: Shortcuts::ALL,
            apply: true,
            show_left_alone: false,
            line_length: None,
            package_init: false,
        },
    ),
];

/// What one run produced, in a comparable form: the findings (all of them,
/// or only the sites when candidates left alone are not shown), the output,
/// or the error.
#[derive(Debug, PartialEq, Eq)]
pub enum Outcome {
    Done {
        findings: Vec<String>,
        output: Option<Vec<u8>>,
    },
    Failed(String),
    /// A hint would have ruled out a site ([`FileError::Hint`]).
    HintMissed(String),
}

/// Runs `bytes` through the pipeline in `opts`, keeping what the caller of
/// that mode shows.
pub fn outcome(bytes: &[u8], transforms: &[Box<dyn Transform>], opts: Options) -> Outcome {
    match engine::process(bytes, transforms, opts) {
        Ok(p) => Outcome::Done {
            findings: p
                .findings
                .iter()
                .filter(|l| opts.show_left_alone || matches!(l.finding.kind, FindingKind::Site(_)))
                .map(|l| format!("{l:?}"))
                .collect(),
            output: p.output,
        },
        Err(FileError::Hint(miss)) => Outcome::HintMissed(miss.to_string()),
        Err(e) => Outcome::Failed(e.to_string()),
    }
}

/// Compares every mode of [`MODES`] with its reference-mode twin. `Err`
/// names the mode and what differed; a hint that would have ruled out a
/// site is reported as the reference mode's internal error
/// ([`FileError::Hint`]).
pub fn compare(bytes: &[u8], transforms: &[Box<dyn Transform>]) -> Result<(), String> {
    for (name, opts) in MODES {
        let fast = outcome(bytes, transforms, opts);
        let reference = outcome(bytes, transforms, Options { shortcuts: Shortcuts::NONE, ..opts });
        for o in [&reference, &fast] {
            if let Outcome::HintMissed(miss) = o {
                return Err(format!("{name}: {miss}"));
            }
        }
        if fast != reference {
            return Err(format!(
                "{name}: the shortcuts changed the result\n  with: {fast:?}\n  without: {reference:?}"
            ));
        }
    }
    Ok(())
}
