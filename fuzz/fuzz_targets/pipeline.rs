//! Fuzz target for the whole per-file pipeline (`tame::pipeline::engine::process`:
//! decode, parse, transforms, edits, verify, re-encode) with every transform
//! at its default options.
//!
//! Properties checked on every input:
//! - nothing panics (libFuzzer reports a panic as a crash);
//! - if the input decodes and parses without error regions, then processing
//!   it does not fail verification or the fixpoint, any output decodes and
//!   parses without error regions too, and a second pass over the output
//!   changes nothing;
//! - the shortcut oracle (`tame::pipeline::oracle::compare`): with every shortcut and
//!   in the reference mode, a clean input gets the same findings and output
//!   in each mode the CLI runs, and no site misses a hint.

#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use tame::pipeline::engine::{self, FileError, Options, Shortcuts};
use tame::pipeline::source::Source;
use tame::transforms::{self, Transform};

fn all_transforms() -> &'static [Box<dyn Transform>] {
    static T: OnceLock<Vec<Box<dyn Transform>>> = OnceLock::new();
    T.get_or_init(|| {
        transforms::specs()
            .iter()
            .map(|s| transforms::build(&s.id, &s.defaults()).expect("registered").expect("defaults are valid"))
            .collect()
    })
}

/// Whether `bytes` decode and parse without ERROR or MISSING nodes.
fn parses_cleanly(bytes: &[u8]) -> bool {
    let Ok(src) = Source::decode(bytes) else { return false };
    tame::python::parse::parse(&src.text).is_ok_and(|t| !t.root_node().has_error())
}

/// The modes `tame check --explain` and `tame fix` run, for the properties
/// of a single run; the shortcut oracle compares every mode with its
/// reference-mode twin.
const MODES: [Options; 2] = [
    Options { shortcuts: Shortcuts::ALL, apply: true, show_left_alone: true, line_length: None, package_init: false },
    Options { shortcuts: Shortcuts::ALL, apply: true, show_left_alone: false, line_length: None, package_init: false },
];

fuzz_target!(|data: &[u8]| {
    let clean = parses_cleanly(data);
    for opts in MODES {
        check(data, clean, opts);
    }
    if clean && let Err(e) = tame::pipeline::oracle::compare(data, all_transforms()) {
        panic!("the shortcuts changed what is found: {e}");
    }
});

/// Runs one mode and checks its properties.
fn check(data: &[u8], clean: bool, opts: Options) {
    let result = engine::process(data, all_transforms(), opts);
    if !clean {
        return;
    }
    let processed = match result {
        Ok(p) => p,
        Err(e @ (FileError::Verify(_) | FileError::NoFixpoint | FileError::Hint(_))) => {
            panic!("clean input, but the pipeline failed: {e}")
        }
        Err(_) => return,
    };
    let Some(output) = processed.output else { return };
    assert!(parses_cleanly(&output), "clean input, but the output has syntax errors");
    match engine::process(&output, all_transforms(), opts) {
        Ok(again) => assert!(again.output.is_none(), "a second pass changed the output"),
        Err(e) => panic!("a second pass over the output failed: {e}"),
    }
}
