//! The literal prefilter: which files are worth decoding at all.
//!
//! It runs on the raw bytes of every file, so it must cost about what
//! ripgrep pays for the same literals. [`any_gate`] makes one pass for the
//! gate literals of every transform spec together (and the suppression
//! marker, which needs a closer look too); most files hold none of them and
//! are done. Only a file with a hit gets each transform's exact conditions,
//! [`triggers_match`]: its literals, then its block and file regexes.

use std::sync::OnceLock;

use aho_corasick::AhoCorasick;

use crate::transforms::{Transform, spec::Spec, specs};

/// Whether `bytes` holds the gate literal of some spec, or one of
/// [`directive::GATE_LITERALS`](crate::pipeline::directive::GATE_LITERALS).
/// `false` means no transform can match and no comment needs reading.
/// Always `true` when a transform's spec is not one of the embedded specs
/// (the combined scan does not know its gate).
pub fn any_gate(bytes: &[u8], transforms: &[&dyn Transform]) -> bool {
    static GATES: OnceLock<Option<AhoCorasick>> = OnceLock::new();
    let gates = GATES.get_or_init(|| {
        let mut literals: Vec<&[u8]> =
            specs().iter().flat_map(|s| &s.hints.triggers.gate_literals).map(|l| l.as_bytes()).collect();
        // Suppression comments, well-formed or not, are read wherever they are.
        literals.extend(crate::pipeline::directive::GATE_LITERALS.iter().map(|l| l.as_bytes()));
        // Leftmost semantics: only they use the SIMD (Teddy) searcher. A
        // searcher that cannot be built only costs speed: each transform's
        // own check still runs.
        AhoCorasick::builder().match_kind(aho_corasick::MatchKind::LeftmostFirst).build(literals).ok()
    });
    let known = |t: &&dyn Transform| specs().iter().any(|s| std::ptr::eq::<Spec>(s, t.spec()));
    match gates {
        // Any match will do: overlaps do not matter, as a hit only sends the
        // file on to the exact checks.
        Some(gates) if transforms.iter().all(known) => gates.is_match(bytes),
        _ => true,
    }
}

/// Whether a transform's trigger literals could all be present, and its
/// block and file regexes match somewhere (see [`crate::transforms::hints::Hints::may_match`]).
pub fn triggers_match(t: &dyn Transform, text: &[u8]) -> bool {
    t.spec().hints.may_match(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all() -> Vec<Box<dyn Transform>> {
        specs().iter().map(|s| crate::transforms::build(&s.id, &s.defaults()).unwrap().unwrap()).collect()
    }

    #[test]
    fn one_pass_rules_out_files_without_any_gate_literal() {
        let built = all();
        let refs: Vec<&dyn Transform> = built.iter().map(|t| t.as_ref()).collect();
        assert!(!any_gate(b"def f():\n    while True:\n        pass\n", &refs));
        assert!(any_gate(b"time.sleep(1)\n", &refs));
        assert!(any_gate(b"sys.exit(1)\n", &refs));
        assert!(any_gate(b"x = 1  # tame: ignore\n", &refs));
        // Found by the fuzzer: an aliased exit, and no `exit(` call to match the block regex.
        let aliased = b"import importlib\nfrom sys import exit as die\n\n\ndef load_driver(name):\n    try:\n        return importlib.import_module(name)\n    except ImportError:\n        die(1)\n";
        let driver = refs.iter().find(|t| t.spec().id == "driver-load-error").unwrap();
        assert!(triggers_match(*driver, aliased));
        // Every gate literal of every spec is in the combined scan.
        for spec in specs() {
            for literal in &spec.hints.triggers.gate_literals {
                assert!(any_gate(format!("x = '{literal}'\n").as_bytes(), &refs), "{literal}");
            }
        }
    }
}
