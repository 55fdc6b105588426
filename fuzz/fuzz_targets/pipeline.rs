//! Fuzz target for the whole per-file pipeline (`tame::engine::process`:
//! decode, parse, transforms, edits, verify, re-encode) with every transform
//! at its default options.
//!
//! Properties checked on every input:
//! - nothing panics (libFuzzer reports a panic as a crash);
//! - if the input decodes and parses without error regions, then processing
//!   it does not fail verification or the fixpoint, any output decodes and
//!   parses without error regions too, and a second pass over the output
//!   changes nothing;
//! - with and without the prefilter and partial parsing, a clean input gets
//!   the same findings (sites and skipped candidates) and the same output;
//!   and when the candidates left alone are not asked for (what `tame fix`
//!   runs), the same sites and output.

#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use tame::engine::{self, FileError, Options};
use tame::source::Source;
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
    tame::parse::parse(&src.text).is_ok_and(|t| !t.root_node().has_error())
}

/// `tame check --explain`, the same without the prefilter and partial
/// parsing (which would rule most fuzz inputs out before parsing), and what
/// `tame fix` runs (no candidates left alone).
const MODES: [Options; 3] = [
    Options { prefilter: true, partial: true, apply: true, skipped: true },
    Options { prefilter: false, partial: false, apply: true, skipped: true },
    Options { prefilter: true, partial: true, apply: true, skipped: false },
];

fuzz_target!(|data: &[u8]| {
    let clean = parses_cleanly(data);
    let outputs: Vec<(String, Option<Vec<u8>>, String)> = MODES.iter().map(|&opts| check(data, clean, opts)).collect();
    if clean {
        assert_eq!(outputs[0].0, outputs[1].0, "the prefilter or partial parsing changed the findings");
        assert!(outputs[0].1 == outputs[1].1, "the prefilter or partial parsing changed the output");
        assert_eq!(outputs[2].2, outputs[1].2, "partial parsing without skipped candidates changed the sites");
        assert!(outputs[2].1 == outputs[1].1, "partial parsing without skipped candidates changed the output");
    }
});

/// Runs one mode and checks its properties; returns the findings and the
/// sites alone (as text), and the output, if any.
fn check(data: &[u8], clean: bool, opts: Options) -> (String, Option<Vec<u8>>, String) {
    let result = engine::process(data, all_transforms(), opts);
    if !clean {
        return (String::new(), None, String::new());
    }
    let processed = match result {
        Ok(p) => p,
        Err(e @ (FileError::Verify(_) | FileError::NoFixpoint)) => {
            panic!("clean input, but the pipeline failed: {e}")
        }
        Err(_) => return (String::new(), None, String::new()),
    };
    let findings = format!("{:?}", processed.findings);
    let sites: Vec<_> =
        processed.findings.iter().filter(|f| matches!(f.finding.kind, transforms::FindingKind::Site(_))).collect();
    let sites = format!("{sites:?}");
    let Some(output) = processed.output else { return (findings, None, sites) };
    assert!(parses_cleanly(&output), "clean input, but the output has syntax errors");
    match engine::process(&output, all_transforms(), opts) {
        Ok(again) => assert!(again.output.is_none(), "a second pass changed the output"),
        Err(e) => panic!("a second pass over the output failed: {e}"),
    }
    (findings, Some(output), sites)
}
