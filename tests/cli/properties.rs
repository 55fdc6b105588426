//! Property tests of the per-file pipeline (`tame::pipeline::engine::process`, the
//! code every `tame fix` runs) over Python modules generated from fragments:
//! wait loops, service loops, already-bounded loops, driver loaders, noise
//! statements and comments, in LF/CRLF/mixed line endings, space or tab
//! indentation, with or without a BOM and a final newline.
//!
//! - `fix(fix(x)) == fix(x)`: a second run changes nothing.
//! - Bytes outside the edited ranges are unchanged: every original line no
//!   edit touched is still in the output, in order.
//! - The output parses without error regions when the input did.

use proptest::prelude::*;
use tame::pipeline::engine::{self, FileResult, Options, Shortcuts};
use tame::transforms::{self, FindingKind, Transform};

fn all_transforms() -> Vec<Box<dyn Transform>> {
    transforms::specs()
        .iter()
        .map(|s| transforms::build(&s.id, &s.defaults()).expect("registered").expect("defaults are valid"))
        .collect()
}

/// One top-level fragment; `{n}` is replaced with a number unique in the module,
/// `    ` is one indentation level.
const FRAGMENTS: &[&str] = &[
    // A wait loop in a function.
    "def wait_{n}(ready):\n    while True:\n        if ready():\n            break\n        time.sleep({n})\n",
    // A wait loop that returns, with a comment and a computed delay.
    "def poll_{n}(client):\n    while True:\n        # ask again\n        status = client.status()\n        if status == 'done':\n            return status\n        time.sleep(0.5 * {n})\n",
    // A module-level wait loop.
    "while True:\n    if ready_{n}():\n        break\n    time.sleep(1)\n",
    // A wait loop in a method, with an eventlet sleep.
    "class Waiter{n}(object):\n    def wait(self):\n        while True:\n            if self.done():\n                break\n            eventlet.sleep(1)\n",
    // A service loop: never leaves (left alone).
    "def serve_{n}(agent):\n    while True:\n        agent.report()\n        time.sleep(10)\n",
    // Already bounded by a deadline (left alone).
    "def bounded_{n}(port, timeout=60):\n    deadline = time.time() + timeout\n    while True:\n        if port.up():\n            return True\n        if time.time() > deadline:\n            raise RuntimeError('late')\n        time.sleep(1)\n",
    // A driver loader that exits the process.
    "def load_{n}_driver(conf):\n    try:\n        return importutils.import_object(conf.driver_{n}, conf)\n    except ImportError:\n        LOG.error(\"Error loading driver %s\", conf.driver_{n})\n        sys.exit(1)\n",
    // A driver loader raising SystemExit.
    "def load_interface_driver_{n}(conf):\n    try:\n        loaded = neutron_utils.load_class_by_alias_or_classname(NS, conf.interface_driver)\n        return loaded(conf)\n    except ImportError:\n        raise SystemExit(1)\n",
    // Noise.
    "VALUE_{n} = {n}\n",
    "# a comment about {n}\n",
    "def helper_{n}(x, y={n}):\n    \"\"\"Docstring.\"\"\"\n    if x:\n        return x + y\n    return [i for i in range(y)]\n",
    "class Plain{n}:\n    attr = '{n}'\n\n    def method(self):\n        return self.attr\n",
    "try:\n    import json\nexcept ImportError:\n    json = None\n",
    "for i in range({n}):\n    print(i)\n",
];

/// Module headers, each with the name whose use in a fragment requires it.
/// (A module that uses `time` without importing it is left out on purpose:
/// there, the `import time` a rewrite adds changes what `time` means
/// elsewhere in the module, and a second round of fixes rewrites loops the
/// first round did not report.)
const HEADERS: &[(&str, &str)] = &[
    ("time.", "import time\n"),
    ("sys.", "import sys\n"),
    ("eventlet.", "import eventlet\n"),
    ("importutils.", "from oslo_utils import importutils\n"),
    ("LOG.", "from oslo_log import log as logging\nLOG = logging.getLogger(__name__)\n"),
    ("neutron_utils.", "from neutron_agent import neutron_utils\nNS = 'ns'\n"),
];

#[derive(Debug, Clone, Copy)]
enum Eol {
    Lf,
    CrLf,
    /// LF, with every third line ending in CRLF.
    Mixed,
}

/// Builds one module from a choice of headers, fragments and style.
fn module(
    headers: &[bool],
    frags: &[usize],
    indent: &str,
    eol: Eol,
    bom: bool,
    final_newline: bool,
    docstring: bool,
) -> Vec<u8> {
    let mut text = String::new();
    if docstring {
        text.push_str("\"\"\"A generated module.\"\"\"\n\n");
    }
    let mut body = String::new();
    for (n, f) in frags.iter().enumerate() {
        body.push_str("\n\n");
        body.push_str(&FRAGMENTS[*f].replace("{n}", &n.to_string()).replace("    ", indent));
    }
    for ((used, h), on) in HEADERS.iter().zip(headers) {
        if *on || body.contains(used) {
            text.push_str(h);
        }
    }
    text.push_str(&body);
    if !final_newline {
        while text.ends_with('\n') {
            text.pop();
        }
    }
    let text = match eol {
        Eol::Lf => text,
        Eol::CrLf => text.replace('\n', "\r\n"),
        Eol::Mixed => text
            .split_inclusive('\n')
            .enumerate()
            .map(|(i, l)| if i % 3 == 2 { l.replace('\n', "\r\n") } else { l.to_owned() })
            .collect(),
    };
    let mut bytes = if bom { b"\xEF\xBB\xBF".to_vec() } else { Vec::new() };
    bytes.extend_from_slice(text.as_bytes());
    bytes
}

fn python_module() -> impl Strategy<Value = Vec<u8>> {
    (
        proptest::collection::vec(any::<bool>(), HEADERS.len()),
        proptest::collection::vec(0..FRAGMENTS.len(), 0..8),
        prop_oneof![Just("    "), Just("  "), Just("\t")],
        prop_oneof![Just(Eol::Lf), Just(Eol::CrLf), Just(Eol::Mixed)],
        any::<bool>(),
        any::<bool>(),
        any::<bool>(),
    )
        .prop_map(|(headers, frags, indent, eol, bom, final_newline, doc)| {
            module(&headers, &frags, indent, eol, bom, final_newline, doc)
        })
}

/// What `tame fix` runs on one file.
const FIX: Options =
    Options { shortcuts: Shortcuts::ALL, apply: true, show_left_alone: false, line_length: None, package_init: false };

fn process(bytes: &[u8], t: &[Box<dyn Transform>]) -> FileResult {
    engine::process(bytes, t, FIX).expect("generated modules are valid UTF-8 Python")
}

/// Lines (with their endings) of the text after an optional BOM.
fn lines(bytes: &[u8]) -> Vec<&[u8]> {
    let body = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    body.split_inclusive(|&b| b == b'\n').collect()
}

fn has_errors(bytes: &[u8]) -> bool {
    let text = std::str::from_utf8(bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes)).unwrap();
    tame::python::parse::parse(text).unwrap().root_node().has_error()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn fix_is_idempotent_and_keeps_unedited_lines(src in python_module()) {
        let t = all_transforms();
        let first = process(&src, &t);
        let fixed = first.output.clone().unwrap_or_else(|| src.clone());

        // fix(fix(x)) == fix(x)
        let second = process(&fixed, &t);
        prop_assert!(
            second.output.is_none(),
            "a second run changed the output:\n{}\n---\n{}",
            String::from_utf8_lossy(&fixed),
            String::from_utf8_lossy(&second.output.unwrap())
        );

        // The output parses whenever the input did.
        if !has_errors(&src) {
            prop_assert!(!has_errors(&fixed), "{}", String::from_utf8_lossy(&fixed));
        }

        // Every line no edit touched survives, in order. (Lines are 1-based
        // in `edit_positions`; an edit ending at column 1 does not touch its end line.)
        let mut touched = std::collections::BTreeSet::new();
        for f in &first.findings {
            if let FindingKind::Site(_) = f.finding.kind {
                for &((sl, _), (el, ec)) in &f.edit_positions {
                    let last = if ec == 1 && el > sl { el - 1 } else { el };
                    touched.extend(sl..=last);
                }
            }
        }
        let out_lines = lines(&fixed);
        let mut at = 0;
        // A top-level import the rewrite left unused goes too (`import sys`
        // after the last `sys.exit`): only if no line of the output spells
        // its name any more (and one blank line around it may go with it).
        let gone = |line: &[u8]| {
            let text = String::from_utf8_lossy(line);
            let name = match text.split_whitespace().collect::<Vec<_>>().as_slice() {
                ["import", m] => m.split('.').next().unwrap_or("").to_owned(),
                ["from", _, "import", n] => (*n).to_owned(),
                _ => return false,
            };
            !String::from_utf8_lossy(&fixed).split(|c: char| !(c.is_alphanumeric() || c == '_')).any(|w| w == name)
        };
        for (i, line) in lines(&src).into_iter().enumerate() {
            if touched.contains(&(i + 1)) || gone(line) || (line.iter().all(|b| b.is_ascii_whitespace()) && line.ends_with(b"\n")) {
                continue;
            }
            // A last line without a newline may gain one if text is added after it.
            let found = out_lines[at..].iter().position(|l| *l == line || (!line.ends_with(b"\n") && l.strip_suffix(b"\n").is_some_and(|l| l.strip_suffix(b"\r").unwrap_or(l) == line)));
            prop_assert!(
                found.is_some(),
                "line {} ({:?}) is missing or out of order in:\n{}\n--- from:\n{}",
                i + 1,
                String::from_utf8_lossy(line),
                String::from_utf8_lossy(&fixed),
                String::from_utf8_lossy(&src)
            );
            at += found.unwrap() + 1;
        }
        // Neither the prefilter nor partial parsing changes the result.
        let full = engine::process(&src, &t, Options { shortcuts: Shortcuts::NONE, apply: true, show_left_alone: true, line_length: None, package_init: false }).unwrap();
        prop_assert!(full.output == first.output, "partial parsing or the prefilter changed the result");

        // A module with a site is changed, and one without is not.
        let sites = first.findings.iter().any(|f| matches!(f.finding.kind, FindingKind::Site(_)));
        prop_assert_eq!(sites, first.output.is_some());
    }

    /// Broken modules: a generated module with a random byte range replaced
    /// by a random snippet. Never a panic; never new error regions; still
    /// idempotent.
    #[test]
    fn broken_modules_are_never_made_worse(
        src in python_module(),
        at in any::<prop::sample::Index>(),
        len in 0usize..40,
        snippet in prop_oneof![Just(""), Just("("), Just(")"), Just(":"), Just("\n"), Just("    "), Just("\t"), Just("'"), Just("\"\"\""), Just("def"), Just("while True:\n"), Just("\\\n")],
    ) {
        let start = at.index(src.len() + 1);
        let end = (start + len).min(src.len());
        let mut broken = src[..start].to_vec();
        broken.extend_from_slice(snippet.as_bytes());
        broken.extend_from_slice(&src[end..]);
        let t = all_transforms();
        // A cut may split a UTF-8 sequence (a BOM): then it is an error, not a panic.
        let Ok(first) = engine::process(&broken, &t, FIX) else { return Ok(()) };
        let Some(fixed) = first.output else { return Ok(()) };
        let errors = |b: &[u8]| {
            let text = std::str::from_utf8(b.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(b)).unwrap();
            tame::python::parse::error_ranges(&tame::python::parse::parse(text).unwrap()).len()
        };
        prop_assert!(errors(&fixed) <= errors(&broken), "new error regions:\n{}", String::from_utf8_lossy(&fixed));
        let second = engine::process(&fixed, &t, FIX).unwrap();
        prop_assert!(
            second.output.is_none(),
            "a second run changed the output:\n{}\n--- from:\n{}",
            String::from_utf8_lossy(&fixed),
            String::from_utf8_lossy(&broken)
        );
    }
}
