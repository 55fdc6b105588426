//! The shortcut oracle: with every shortcut (the prefilter, partial
//! parsing, query focusing) tame must find and write exactly what the
//! reference mode (`--no-shortcuts`: every file parsed whole, every query on
//! the whole tree, every site checked against the hints) does. Over every
//! fixture of every registered transform (walked from the registry, so a new
//! transform is covered by its fixtures alone), modules generated from those
//! fixtures, a generated corpus mixing candidates with look-alike noise, and
//! inputs that once broke a shortcut. And the contract has teeth: a spec
//! whose hint would lose a site, or whose query lacks a capture the analysis
//! reads, fails here with a message naming the hint.

use std::path::Path;

use tame::pipeline::engine::{Options, Shortcuts};
use tame::pipeline::oracle;
use tame::transforms::{self, Transform};

use crate::common::*;

/// The standard output of `tame ARGS... EXTRA... .` in `dir` (exit 0 or 1).
fn output(dir: &Path, args: &[&str], extra: &[&str]) -> String {
    let mut all = args.to_vec();
    all.push("--isolated");
    all.extend_from_slice(extra);
    all.push(".");
    let (code, out, err) = run(dir, &all);
    assert!(code == 0 || code == 1, "{err}");
    out
}

fn findings(dir: &Path, extra: &[&str]) -> String {
    output(dir, &["check", "--explain", "--format", "json"], extra)
}

/// The same output with every shortcut and in the reference mode, else a
/// diff of the two.
fn assert_same_output(dir: &Path, args: &[&str], what: &str) -> String {
    let (fast, reference) = (output(dir, args, &[]), output(dir, args, &["--no-shortcuts"]));
    if fast != reference {
        let d = similar::TextDiff::from_lines(&reference, &fast);
        panic!(
            "the shortcuts changed the {what}:\n{}",
            d.unified_diff().context_radius(8).header("--no-shortcuts", "default")
        );
    }
    reference
}

fn assert_same(dir: &Path) {
    let full = assert_same_output(dir, &["check", "--explain", "--format", "json"], "findings");
    // Without `--explain`, text output shows the sites alone, and partial
    // parsing also blanks definitions that can hold only candidates left
    // alone (`Transform::site_context`): the sites must not change.
    assert_same_output(dir, &["check"], "sites");
    // The findings do not say where module-level additions go; the diffs do.
    assert_same_output(dir, &["fix", "--dry-run"], "diffs");
    let v: serde_json::Value = serde_json::from_str(&full).unwrap();
    assert!(!v["skipped"].as_array().unwrap().is_empty() || !v["sites"].as_array().unwrap().is_empty());
}

#[test]
fn fixtures_find_the_same_with_and_without_shortcuts() {
    let tmp = copy_to_temp(&repo().join("tests/fixtures"));
    assert_same(tmp.path());
}

/// Deterministic pseudo-random numbers (no dependency, stable across runs).
struct Lcg(u64);
impl Lcg {
    fn next(&mut self, n: usize) -> usize {
        self.0 = self.0.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        ((self.0 >> 33) % n as u64) as usize
    }
}

const BLOCKS: &[&str] = &[
    "def wait_ready(client):\n    while True:\n        if client.ready():\n            return\n        time.sleep(1)\n",
    "def heartbeat(agent):\n    while True:\n        agent.report()\n        eventlet.sleep(5)\n",
    "def bounded(client, tries=5):\n    n = 0\n    while True:\n        n += 1\n        if n > tries:\n            raise RuntimeError('no')\n        if client.ok():\n            break\n        time.sleep(2)\n",
    "class Poller(object):\n    \"\"\"Polls.\n\ndef not_a_function():\n    while True: pass\n    \"\"\"\n\n    def poll(self):\n        while 1:\n            if self.done():\n                break\n            time.sleep(0.5)\n",
    "def noise(x):\n    s = \"while True: time.sleep(1)\"\n    return s.upper()\n",
    "def helper(items):\n    total = 0\n    for i in items:\n        total += i\n    return total\n",
    "@decorator\ndef decorated():\n    # while True in a comment, and sleep\n    return [\n        1,\n    ]\n",
    "async def apoll(conn):\n    while True:\n        if await conn.ready():\n            return\n        await asyncio.sleep(1)\n",
    "def yielding():\n    while True:\n        time.sleep(0)\n",
    "def text():\n    return '''\n  while True:\n      time.sleep(1)\n'''\n",
    "CONSTANT = {\n    'a': 1,\n}\n",
    "while True:\n    if check():\n        break\n    time.sleep(3)\n",
    "def crlf_style(x):\r\n    while True:\r\n        if x():\r\n            break\r\n        time.sleep(1)\r\n",
    "def _local_sleep():\n    def sleep(t):\n        pass\n    while True:\n        if go():\n            break\n        sleep(1)\n",
    "def unicode_body():\n    msg = 'héllo wörld ✓'\n    return msg\n",
    // Driver loading: a module-level loader, a loader method, and their callers.
    "def load_interface_driver(conf):\n    try:\n        return importutils.import_object(conf.driver)\n    except ImportError:\n        LOG.error('no driver')\n        raise SystemExit(1)\n",
    "class Agent(object):\n    def __init__(self, conf):\n        try:\n            self.driver = importutils.import_object(conf.driver)\n        except ImportError:\n            sys.exit(1)\n\n    def reload(self, conf):\n        self.__init__(conf)\n",
    "class Other(object):\n    def __init__(self):\n        self.x = 1\n",
    "def build(conf):\n    return Agent.__init__(None, conf)\n",
    "def start(conf):\n    return load_interface_driver(conf)\n",
    "def main():\n    if not run():\n        sys.exit(2)\n",
    "def test_exit(self):\n    self.assertRaises(SystemExit, main)\n    os._exit(0)\n",
    "class Manager(object):\n    def __init__(self):\n        self.mgr = driver.DriverManager('ns', CONF.drv, on_load_failure_callback=self._fail)\n\n    def _fail(self, manager, ep, exc):\n        raise SystemExit('failed: %s' % exc)\n",
    // Loops that sleep through an alias or wait without sleeping.
    "def aliased():\n    from time import sleep as nap\n    while True:\n        if ready():\n            break\n        nap(1)\n",
    "def spins():\n    while True:\n        if ready():\n            break\n",
    // A module-level alias (with comments in the way) used in another block.
    "from time import (  # the clock\n    sleep  # the wait\n    as snooze,\n)\n",
    "def snoozing():\n    while True:\n        if ready():\n            break\n        snooze(2)\n",
    // Members that become a dropped decorator, a kept multi-line header and a
    // stub, beside a kept one; a decorated top-level block with a multi-line decorator.
    "class Worker(object):\n    @property\n    def name(self):\n        return 'w'\n\n    def _pick(\n            self):\n        return 1\n\n    def wait(self):\n        while True:\n            if self.ready():\n                return\n            time.sleep(1)\n",
    "@register('x',\n          y=1)\ndef plugin():\n    return 2\n",
    // Definitions with exits but nothing a site needs (no `driver`, no
    // loader) are blanked when skipped candidates are not shown; module-level
    // code never is (a module-level `try` takes its checks from anywhere
    // before it); a loader imported under another name, an `async def`
    // loader, and a loader method beside an exit that is left alone.
    "if not CONF.store_name:\n    sys.exit(3)\ntry:\n    STORE = importutils.import_class(CONF.store_name)\nexcept ImportError:\n    sys.exit(1)\n",
    "from oslo_utils.importutils import import_object as io_load\n",
    "def setup(conf):\n    try:\n        return io_load(conf.backend)\n    except ImportError:\n        sys.exit(1)\n",
    "async def load_async_driver(conf):\n    try:\n        return importutils.import_object(conf.d)\n    except ImportError:\n        sys.exit(1)\n",
    "class Svc(object):\n    def _get_driver(self, conf):\n        if not conf.backend:\n            sys.exit(1)\n        return conf.backend\n\n    def stop(self):\n        sys.exit(0)\n\n    def halt(self):\n        raise SystemExit(2)\n",
    "def configure(conf):\n    name = conf.storage\n    if name is None:\n        sys.exit(2)\n    try:\n        mod = importlib.import_module(name)\n    except ImportError:\n        sys.exit(1)\n    return mod\n",
    "def shutdown(code):\n    LOG.info('bye')\n    raise SystemExit(code)\n",
];

#[test]
fn generated_corpus_finds_the_same_with_and_without_shortcuts() {
    let tmp = tempfile::tempdir().unwrap();
    let mut rng = Lcg(42);
    for f in 0..300 {
        let mut text = String::from(
            "import asyncio\nimport importlib\nimport sys\nimport time\n\nimport eventlet\nfrom oslo_utils import importutils\n\n\n",
        );
        for _ in 0..1 + rng.next(8) {
            text.push_str(BLOCKS[rng.next(BLOCKS.len())]);
            text.push_str("\n\n");
        }
        // Every third file indents with tabs: blanking must keep them (a tab
        // turned into a space is a shallower indentation).
        if f % 3 == 1 {
            text = text
                .split_inclusive('\n')
                .map(|line| {
                    let spaces = line.len() - line.trim_start_matches(' ').len();
                    format!("{}{}", "\t".repeat(spaces / 4), &line[spaces - spaces % 4..])
                })
                .collect();
        }
        std::fs::write(tmp.path().join(format!("m{f:03}.py")), text).unwrap();
    }
    assert_same(tmp.path());
    // The fast path is really taken (not a silent fallback to full parses).
    let (_, _, err) = run(tmp.path(), &["check", "--isolated", "--verbose", "."]);
    // Most files are parsed partially; whole parses are for files where
    // nothing could be blanked or the scanner was unsure.
    let stats = err.lines().find(|l| l.contains("parsed partially")).unwrap();
    let n: Vec<usize> = stats.split(|c: char| !c.is_ascii_digit()).filter_map(|x| x.parse().ok()).collect();
    assert_eq!(n[0] + n[1] + n[2], 300, "{stats}");
    assert!(n[1] > 100, "{stats}");
}

/// Inputs on which partial parsing and a whole parse once disagreed, found
/// by the fuzzer (`scripts/fuzz.sh`) or by review.
const REGRESSIONS: &[&str] = &[
    // `# tame: ignore-file` in a file no transform can match: the note that
    // the file is ignored must not depend on the prefilter.
    "# tame: ignore-file\nx = 1\n",
    // A form feed resets the indentation: `def sleep` is a module-level
    // function (shadowing the import), not part of `a`'s body.
    "from time import sleep\n\n\ndef a():\n    return 1\n\x0cdef sleep(x):\n    pass\n\n\ndef b(ready):\n    while True:\n        if ready():\n            break\n        sleep(1)\n",
    // An indented first line: no statement of the block scanner's, but
    // tree-sitter parses it, and its exits are candidates.
    "# A firewall agent that loadf its driver by class path and exits the process\n# when that fails: two handlers and a \"no f):\n        if self.conf.quota_driver is None:\n            LOGargumical(\"quota_driver is not set\")\n            sys.exit(4)\n        try:\n            self.driver = importutils.import_class(self.conf.quota_driver)()\n        except ImportError:\n            LOG.error(\"Quota driver %(driver)s not found\",\n                      {\"driver\": self.conf.quota_driver})\n            sys.exit(1)\n        except (ValueError, AttributeError):\n            sys.exit(1)\n        # An exit after the loader, outside its handlers: left alone.\n        if not self.driver.ready():\n            sys.exit(3)\n\n\ndef start_agent(conf):\n    \"\"\"Callers of rewritten loaders are listed by `check --explain`.\"\"\"\n    firewall = load_firewall_driver(conf)\n    return firewall, QuotaAgentA(conf)\n",
    // Stubs after the first bind their names outside the parse; the first
    // stays in the text, so the import after it is not taken for part of
    // the import header (where `import time` goes).
    "import eventlet\n\n\ndef a():\n    return 1\n\n\nimport logging\n\n\ndef c():\n    return 2\n\n\ndef b(ready):\n    while True:\n        if ready():\n            break\n        eventlet.sleep(1)\n",
    // Decorators go with their stub: a decorated `def sleep` still shadows
    // the import, and a loader called from a dropped decorator is a caller.
    "from time import sleep\n\n\n@decorate(\n    'x')\ndef sleep(n):\n    pass\n\n\ndef b(ready):\n    while True:\n        if ready():\n            break\n        sleep(1)\n",
    "import sys\nfrom oslo_utils import importutils\n\n\ndef load_interface_driver(conf):\n    try:\n        return importutils.import_object(conf.interface_driver, conf)\n    except ImportError:\n        LOG.error('Error importing interface driver')\n        raise SystemExit(1)\n\n\n@register(load_interface_driver(CONF))\ndef other():\n    return 1\n\n\nclass T(object):\n    @mock.patch('a')\n    @mock.patch('b',\n                new=load_interface_driver)\n    def test_a(self, m):\n        return 2\n\n    @property\n    def wait(self):\n        while True:\n            if self.ready():\n                return\n            time.sleep(1)\n",
    // Found by the fuzzer: `exit` imported under another name, and no
    // `exit(` call anywhere for the block regex; the prefilter ruled it out.
    "import importlib\nimport sys as _sys\nfrom sys import exit as die\n\n\ndef load_metrics_driver(name):\n    try:\n        return importlib.import_module(\"metrics.drivers.\" + name)\n    except ModuleNotFoundError:\n        die(\"no metrics driver called %r\" % name)\n",
    // Tab indentation: a blanked member body keeps its placeholder's tabs
    // (as spaces they were shallower, and the class ended there).
    "import time\n\n\nclass API(object):\n\tdef _pick(\n\t\t\tself):\n\t\treturn 1\n\n\tdef restore(self, ready):\n\t\twhile True:\n\t\t\tif ready():\n\t\t\t\tbreak\n\t\t\ttime.sleep(1)\n",
    // Found by review: the generated exception's docstring quotes follow
    // the whole file (`"""` in a blanked body), not the reduced text.
    "'''Module doc.'''\nimport sys\nfrom oslo_utils import importutils\n\n\ndef helper():\n    \"\"\"Help.\"\"\"\n    return 1\n\n\ndef load_interface_driver(conf):\n    try:\n        return importutils.import_object(conf.interface_driver, conf)\n    except ImportError:\n        raise SystemExit(1)\n",
    // Module-level assignments leave the parse after the header: one that
    // rebinds `sleep` still makes it ambiguous, and one that calls a
    // rewritten loader is still listed as its caller.
    "from time import sleep\nLOG = 1\nsleep = other.sleep\n\n\ndef b(ready):\n    while True:\n        if ready():\n            break\n        sleep(1)\n",
    "import sys\nfrom oslo_utils import importutils\nX = 1\nDRIVER = load_interface_driver(CONF)\n\n\ndef load_interface_driver(conf):\n    try:\n        return importutils.import_object(conf.interface_driver, conf)\n    except ImportError:\n        raise SystemExit(1)\n",
    // Found on the development corpus: `from time import time` between two
    // plain imports leaves the partial parse, and the reads need it.
    "import asyncio\nfrom time import time\nimport socket\n\n\ndef helper():\n    return socket\n\n\ndef f(g):\n    start = time()\n    g()\n    return time() - start\n",
    // Found on the development corpus: a class's only read of the clock, in
    // one member, and the attribute's comparison with a parameter in a
    // blanked one; explained alike with and without shortcuts.
    "import time\n\n\nclass Strategy(object):\n    def __init__(self):\n        self._invalidated = None\n\n    def invalidate(self):\n        self._invalidated = time.time()\n\n    def is_invalidated(self, timestamp):\n        return self._invalidated is not None and timestamp < self._invalidated\n",
    // And dropped decorators leave the tabs before their `def`.
    "import time\n\n\nclass API(object):\n\tx = 1\n\n\t@args('--local')\n\tdef sync(self):\n\t\treturn 1\n\n\tdef restore(self, ready):\n\t\twhile True:\n\t\t\tif ready():\n\t\t\t\tbreak\n\t\t\ttime.sleep(1)\n",
];

#[test]
fn regressions_find_the_same_with_and_without_shortcuts() {
    let tmp = tempfile::tempdir().unwrap();
    for (i, text) in REGRESSIONS.iter().enumerate() {
        std::fs::write(tmp.path().join(format!("f{i}.py")), text).unwrap();
    }
    assert_same(tmp.path());
    // And with each shortcut off on its own.
    let all = findings(tmp.path(), &[]);
    for flag in ["--no-prefilter", "--no-partial"] {
        assert_eq!(all, findings(tmp.path(), &[flag]), "{flag}");
    }
}

/// Without `--explain`, a definition that can hold only candidates left
/// alone is not parsed: exits with no `driver` and no loader in sight, a
/// loop that never leaves (no `break`, no `return`). Here nothing is. With
/// it, the files are parsed and the candidates explained.
#[test]
fn definitions_that_can_hold_only_candidates_left_alone_are_not_parsed_without_explain() {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::write(tmp.path().join("cli.py"), "import sys\n\n\ndef main():\n    if not run():\n        sys.exit(2)\n")
        .unwrap();
    std::fs::write(
        tmp.path().join("agent.py"),
        "import time\n\n\ndef heartbeat(agent):\n    while True:\n        agent.report()\n        time.sleep(5)\n",
    )
    .unwrap();
    let (code, _, err) = run(tmp.path(), &["check", "--isolated", "--verbose", "."]);
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("2 files prefiltered out, 0 parsed partially, 0 parsed whole"), "{err}");
    let (code, out, err) = run(tmp.path(), &["check", "--isolated", "--explain", "--verbose", "."]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("skipped [entry-point]") && out.contains("skipped [service-loop]"), "{out}");
    assert!(err.contains("0 files prefiltered out"), "{err}");
}

/// The three commands whose output the shortcuts must not change.
const COMMANDS: [&[&str]; 3] = [&["check"], &["check", "--explain", "--format", "json"], &["fix", "--dry-run"]];

/// Every fixture of every registered transform, with its own arguments
/// (`# tame-args:`), one file at a time: each command's exit code and output
/// with every shortcut and with none.
#[test]
fn every_fixture_of_every_registered_transform_finds_the_same_with_and_without_shortcuts() {
    let mut failures = Vec::new();
    for spec in transforms::specs() {
        let dir = repo().join("tests/fixtures").join(&spec.id);
        let mut files: Vec<_> = std::fs::read_dir(&dir)
            .unwrap_or_else(|e| panic!("{}: every transform needs fixtures: {e}", dir.display()))
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|x| x == "py"))
            .collect();
        files.sort();
        assert!(!files.is_empty(), "{}: no fixtures", dir.display());
        for file in files {
            let tmp = tempfile::tempdir().unwrap();
            let name = file.file_name().unwrap().to_string_lossy().into_owned();
            let text = std::fs::read(&file).unwrap();
            std::fs::write(tmp.path().join(&name), &text).unwrap();
            let extra = crate::fixtures::fixture_args(&String::from_utf8_lossy(&text));
            for cmd in COMMANDS {
                let run_with = |flag: Option<&str>| {
                    let mut args: Vec<&str> = cmd.to_vec();
                    args.push("--isolated");
                    args.extend(extra.iter().map(String::as_str));
                    args.extend(flag);
                    args.push(&name);
                    run(tmp.path(), &args)
                };
                let (fast, reference) = (run_with(None), run_with(Some("--no-shortcuts")));
                for (mode, (_, _, err)) in [("default", &fast), ("--no-shortcuts", &reference)] {
                    if err.contains("internal error") {
                        failures.push(format!("{}/{name} `{}` ({mode}): {err}", spec.id, cmd.join(" ")));
                    }
                }
                if (fast.0, &fast.1) != (reference.0, &reference.1) {
                    failures.push(format!(
                        "{}/{name} `{}`: the shortcuts changed the result\n--- with\n{}\n--- without\n{}",
                        spec.id,
                        cmd.join(" "),
                        fast.1,
                        reference.1
                    ));
                }
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

fn all_transforms() -> Vec<Box<dyn Transform>> {
    transforms::specs().iter().map(|s| transforms::build(&s.id, &s.defaults()).unwrap().unwrap()).collect()
}

/// The top-level statements of every fixture of every registered transform,
/// split into imports (a module's header) and the rest.
fn fixture_chunks() -> (Vec<String>, Vec<String>) {
    let (mut imports, mut rest) = (Vec::new(), Vec::new());
    for spec in transforms::specs() {
        let dir = repo().join("tests/fixtures").join(&spec.id);
        let mut files: Vec<_> = std::fs::read_dir(&dir).unwrap().map(|e| e.unwrap().path()).collect();
        files.sort();
        for file in files.iter().filter(|p| p.extension().is_some_and(|x| x == "py")) {
            let Ok(text) = std::fs::read_to_string(file) else { continue };
            let tree = tame::python::parse::parse(&text).unwrap();
            let root = tree.root_node();
            let mut cursor = root.walk();
            for node in root.named_children(&mut cursor) {
                let chunk = text[node.byte_range()].to_owned();
                match node.kind() {
                    "import_statement" | "import_from_statement" => imports.push(chunk),
                    "future_import_statement" | "comment" => {}
                    _ => rest.push(chunk),
                }
            }
        }
    }
    imports.sort();
    imports.dedup();
    (imports, rest)
}

/// Modules mixing the top-level statements of every transform's fixtures
/// (so a new transform's fixtures feed this test too), in LF, CRLF and tab
/// variants, compared in-process in the three modes of [`oracle::MODES`].
#[test]
fn modules_generated_from_the_fixtures_find_the_same_with_and_without_shortcuts() {
    let (imports, rest) = fixture_chunks();
    let all = all_transforms();
    let mut rng = Lcg(7);
    let mut compared = 0;
    for m in 0..150 {
        let mut text = imports.join("\n") + "\n\n\n";
        for _ in 0..1 + rng.next(5) {
            text.push_str(&rest[rng.next(rest.len())]);
            text.push_str("\n\n\n");
        }
        let text = match m % 3 {
            1 => text.replace('\n', "\r\n"),
            2 => text.replace("    ", "\t"),
            _ => text,
        };
        // Only clean inputs: a partial parse may see fewer error regions.
        if tame::python::parse::parse(&text).unwrap().root_node().has_error() {
            continue;
        }
        compared += 1;
        if let Err(e) = oracle::compare(text.as_bytes(), &all) {
            panic!("module {m}: {e}\n{text}");
        }
    }
    assert!(compared > 100, "only {compared} generated modules parsed cleanly");
}

/// A spec with a mutation, loaded as the registry would load the original.
fn mutated(id: &str, from: &str, to: &str) -> Result<&'static tame::transforms::Spec, tame::transforms::SpecError> {
    let entry = transforms::REGISTRY.iter().find(|e| e.file.ends_with(&format!("/{id}.toml"))).unwrap();
    assert!(entry.toml.contains(from), "the mutation no longer applies to {}: update this test", entry.file);
    let spec = tame::transforms::Spec::load(entry.file, &entry.toml.replacen(from, to, 1), entry.captures)?;
    Ok(Box::leak(Box::new(spec)))
}

fn built(spec: &'static tame::transforms::Spec) -> Vec<Box<dyn Transform>> {
    let entry = transforms::REGISTRY.iter().find(|e| e.file.ends_with(&format!("/{}.toml", spec.id))).unwrap();
    vec![(entry.build)(spec, &spec.defaults()).unwrap()]
}

/// Narrowing bounded-retry's first block regex to `while[ \t]*True` would
/// silently lose `while (\n True):` in every mode (query focusing uses it
/// too); the reference mode finds the loop and names the hint.
#[test]
fn a_block_regex_that_would_lose_a_site_fails_with_the_hint_named() {
    let spec = mutated(
        "bounded-retry",
        r#"block_regex = ["(?-u)\\bwhile\\b""#,
        r#"block_regex = ["(?-u)while[ \\t]*(True|[1-9][0-9]*)\\b""#,
    )
    .expect("the mutated spec loads: only the oracle can catch it");
    let fixture = std::fs::read(repo().join("tests/fixtures/bounded-retry/multiline_condition.py")).unwrap();
    let err = oracle::compare(&fixture, &built(spec)).unwrap_err();
    assert!(err.contains("bounded-retry: block_regex[0] does not match the site at line 9"), "{err}");
    // The original spec passes the same comparison.
    let original = tame::transforms::spec("bounded-retry").unwrap();
    assert_eq!(oracle::compare(&fixture, &built(original)), Ok(()));
}

/// Renaming the query's `@loop` capture would give 0 sites everywhere; the
/// spec load rejects it, naming the capture.
#[test]
fn a_query_without_a_capture_the_analysis_reads_is_rejected_when_loaded() {
    let err = mutated("bounded-retry", "@loop", "@lp").expect_err("the load rejects the spec");
    assert_eq!(
        err.to_string(),
        "transforms/bounded-retry.toml: field `query` does not define the capture `@loop` the transform reads"
    );
}

/// A transform added in a test: one TOML string and one struct, touching
/// neither the prefilter, nor partial parsing, nor the engine. The oracle
/// covers it as it covers the built-in ones, and catches its wrong hint.
mod dummy {
    use tame::pipeline::edits::{Applicability, Edit, Fix};
    use tame::transforms::{Ctx, Finding, FindingKind, Spec, Transform};

    use super::*;

    const SPEC: &str = r#"
id = "dummy-pass"
summary = "Write `...` for `pass` as a function's whole body."
query = "(function_definition body: (block . (pass_statement) @pass .))"
[hints]
triggers = { all = ["pass"] }
block_regex = "pass"
[docs]
what = "A function whose body is `pass` gets `...` instead."
why = "To test the shortcut contract."
before = "def f():\n    pass\n"
after = "def f():\n    ...\n"
fix_safety = "Safe: both do nothing."
"#;

    struct Dummy(&'static Spec);

    impl Transform for Dummy {
        fn spec(&self) -> &'static Spec {
            self.0
        }

        fn run(&self, ctx: &Ctx<'_>, out: &mut Vec<Finding>) {
            for n in ctx.captures(self.0, "pass") {
                out.push(Finding {
                    transform: self.0.id.as_str(),
                    range: n.byte_range(),
                    message: "`pass` as a whole body".into(),
                    kind: FindingKind::Site(Fix {
                        edits: vec![Edit::replace(n.byte_range(), "...")],
                        header: Vec::new(),
                        applicability: Applicability::Safe,
                    }),
                });
            }
        }
    }

    fn dummy(spec_text: &str) -> Vec<Box<dyn Transform>> {
        let spec: &'static Spec = Box::leak(Box::new(Spec::load("dummy-pass.toml", spec_text, &["pass"]).unwrap()));
        vec![Box::new(Dummy(spec))]
    }

    #[test]
    fn a_transform_added_later_is_covered_by_the_oracle() {
        let t = dummy(SPEC);
        let (imports, rest) = fixture_chunks();
        let mut sites = 0;
        for chunk in &rest {
            let text = format!("{}\n\n\n{chunk}\n", imports.join("\n"));
            assert_eq!(oracle::compare(text.as_bytes(), &t), Ok(()), "{text}");
            if let oracle::Outcome::Done { findings, .. } = oracle::outcome(text.as_bytes(), &t, oracle::MODES[0].1) {
                sites += findings.len();
            }
        }
        assert!(sites > 0, "the fixtures hold no `pass` body: the dummy found nothing to compare");
        // A hint that is too narrow (`pass` at the end of a line) is caught.
        let narrow = dummy(&SPEC.replace(r#"block_regex = "pass""#, r#"block_regex = "pass[ \\t]*\\n""#));
        let text = b"import os\n\n\ndef f():\n    pass;\n";
        let err = oracle::compare(text, &narrow).unwrap_err();
        assert!(err.contains("dummy-pass: block_regex[0] does not match the site at line 5"), "{err}");
        // The reference mode alone finds the site the shortcuts lose.
        let options = Options { shortcuts: Shortcuts::NONE, ..oracle::MODES[0].1 };
        assert!(matches!(oracle::outcome(text, &narrow, options), oracle::Outcome::HintMissed(_)));
    }
}
