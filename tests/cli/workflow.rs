//! Team workflow: configuration files, suppression comments, CI output
//! formats (SARIF validated against the 2.1.0 schema), migration reports and
//! interactive review driven through stdin.

use std::io::Write;
use std::path::Path;
use std::process::Stdio;

use crate::common::*;

const SEED: &str = "tests/fixtures/sample/neutron_agent/utils.py";

/// A temp project holding the seed module as `pkg/utils.py`.
fn project() -> tempfile::TempDir {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::create_dir(tmp.path().join("pkg")).unwrap();
    std::fs::copy(repo().join(SEED), tmp.path().join("pkg/utils.py")).unwrap();
    tmp
}

fn write(dir: &Path, name: &str, text: &str) {
    std::fs::write(dir.join(name), text).unwrap();
}

#[test]
fn tame_toml_and_pyproject_configure_options_and_cli_wins() {
    let tmp = project();
    write(tmp.path(), "pyproject.toml", "[tool.tame.bounded-retry]\nmax_attempts = 7\n");
    let (_, diff, _) = run(tmp.path(), &["fix", "--dry-run"]);
    assert!(diff.contains("while _attempts < 7 and"), "{diff}");
    write(tmp.path(), "tame.toml", "[bounded-retry]\nmax_attempts = 9\ndeadline = 60\n");
    let (_, diff, _) = run(tmp.path(), &["fix", "--dry-run"]);
    assert!(diff.contains("while _attempts < 9 and") && diff.contains("+ 60.0"), "tame.toml wins: {diff}");
    let (_, diff, _) = run(tmp.path(), &["fix", "--dry-run", "--max-attempts", "3"]);
    assert!(diff.contains("while _attempts < 3 and") && diff.contains("+ 60.0"), "CLI wins: {diff}");
    let (_, diff, _) = run(tmp.path(), &["fix", "--dry-run", "--isolated"]);
    assert!(diff.contains("while _attempts < 100000 and"), "--isolated ignores files: {diff}");
}

#[test]
fn config_select_ignore_exclude_and_per_file_ignores() {
    let tmp = project();
    std::fs::create_dir(tmp.path().join("build")).unwrap();
    std::fs::copy(repo().join(SEED), tmp.path().join("build/gen.py")).unwrap();
    std::fs::copy(repo().join(SEED), tmp.path().join("pkg/other.py")).unwrap();
    write(
        tmp.path(),
        "tame.toml",
        "ignore = [\"driver-load-error\", \"monotonic-deadline\"]\nexclude = [\"build\"]\n[per-file-ignores]\n\"pkg/other.py\" = [\"bounded-retry\"]\n",
    );
    let (code, out, err) = run(tmp.path(), &["check"]);
    assert_eq!(code, 1, "{err}");
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 1, "{out}");
    assert!(lines[0].starts_with("pkg/utils.py:35:9: bounded-retry"), "{out}");
}

#[test]
fn config_errors_name_file_key_and_type() {
    let tmp = project();
    write(tmp.path(), "tame.toml", "[bounded-retry]\nmax_atempts = 5\n");
    let (code, _, err) = run(tmp.path(), &["check"]);
    assert_eq!(code, 2);
    assert!(err.contains("tame.toml: unknown key `bounded-retry.max_atempts` (options of bounded-retry: max_attempts, deadline, on_exhaust, exception, sleep_functions)"), "{err}");
    write(tmp.path(), "tame.toml", "[bounded-retry]\ndeadline = \"soon\"\n");
    let (code, _, err) = run(tmp.path(), &["check"]);
    assert_eq!(code, 2);
    assert!(err.contains("tame.toml: `bounded-retry.deadline` must be float, got string `\"soon\"`"), "{err}");
    write(tmp.path(), "tame.toml", "select = [\"bounded-retyr\"]\n");
    let (code, _, err) = run(tmp.path(), &["check"]);
    assert_eq!(code, 2);
    assert!(err.contains("tame.toml: `select`: unknown transform `bounded-retyr`"), "{err}");
    write(tmp.path(), "tame.toml", "[bounded-retry]\nmax_attempts = 0\n");
    let (code, _, err) = run(tmp.path(), &["check"]);
    assert_eq!(code, 2);
    assert!(err.contains("option `bounded-retry.max_attempts`: must be at least 1, got 0 (set in tame.toml)"), "{err}");
    std::fs::remove_file(tmp.path().join("tame.toml")).unwrap();
    write(tmp.path(), "pyproject.toml", "[tool.tame]\nselect = \"bounded-retry\"\n");
    let (code, _, err) = run(tmp.path(), &["check"]);
    assert_eq!(code, 2);
    assert!(err.contains("pyproject.toml: `tool.tame.select` must be a list of strings, got string"), "{err}");
}

#[test]
fn config_command_shows_origins() {
    let tmp = project();
    write(tmp.path(), "tame.toml", "[bounded-retry]\nmax_attempts = 5\n");
    let (code, out, err) = run(tmp.path(), &["config", "--deadline", "30"]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("# configuration file: tame.toml"), "{out}");
    let line =
        |key: &str| out.lines().find(|l| l.starts_with(key)).unwrap_or_else(|| panic!("{key} in {out}")).to_owned();
    assert!(line("bounded-retry.max_attempts = 5").ends_with("# tame.toml"));
    assert!(line("bounded-retry.deadline = 30.0").ends_with("# command line"));
    assert!(line("bounded-retry.on_exhaust = \"raise\"").ends_with("# default"));
}

#[test]
fn suppression_comments() {
    let tmp = tempfile::tempdir().unwrap();
    let seed = std::fs::read_to_string(repo().join(SEED)).unwrap();
    let suppressed = seed
        .replace("        while True:\n", "        while True:  # tame: ignore[bounded-retry]\n")
        .replace("        raise SystemExit(1)\n", "        raise SystemExit(1)  # tame: ignore\n");
    assert_ne!(suppressed, seed);
    write(tmp.path(), "a.py", &suppressed);
    write(tmp.path(), "b.py", &format!("# tame: ignore-file\n{seed}"));
    write(tmp.path(), "c.py", "x = 1  # tame: ignore\n");
    // (The seed's clock reads are monotonic-deadline's: not suppressed here.)
    let (code, out, err) = run(tmp.path(), &["check", "--explain", "--skip", "monotonic-deadline"]);
    assert_eq!(code, 0, "no site left: {out}{err}");
    assert!(
        out.contains("a.py:35:9: bounded-retry skipped [suppressed] `# tame: ignore[bounded-retry]` at line 35"),
        "{out}"
    );
    assert!(out.contains("a.py:58:9: driver-load-error skipped [suppressed] `# tame: ignore` at line 58"), "{out}");
    assert!(out.contains("b.py:1:1: tame skipped [suppressed] `# tame: ignore-file` at line 1"), "{out}");
    assert!(
        out.contains("c.py:1:8: tame skipped [unused-ignore] `# tame: ignore` suppresses nothing on this line"),
        "{out}"
    );
    let (_, diff, _) = run(tmp.path(), &["fix", "--dry-run", "--skip", "monotonic-deadline"]);
    assert_eq!(diff, "");
}

#[test]
fn suppression_comments_tame_cannot_honour_are_warned_about() {
    let tmp = tempfile::tempdir().unwrap();
    let wait = |name: &str, comment: &str| {
        format!(
            "def {name}(ready):\n    while True:  {comment}\n        if ready():\n            break\n        time.sleep(1)\n\n\n"
        )
    };
    let a = format!(
        "import time\n\n\n{}{}{}{}",
        wait("typo", "# tame:ignore"),
        wait("underscore", "# tame: ignore[bounded_retry]"),
        wait("unclosed", "# tame: ignore[bounded-retry"),
        wait("fine", "# tame: ignore[bounded-retry]"),
    );
    write(tmp.path(), "a.py", a.trim_end());
    write(tmp.path(), "b.py", "x = 1  # Tame: ignore-file\n");
    let (code, out, err) = run(tmp.path(), &["check", "--explain", "--isolated", "."]);
    assert_eq!(code, 1, "the two misspelled suppressions suppress nothing: {out}{err}");
    snapshot_settings().bind(|| insta::assert_snapshot!("invalid_suppressions", format!("{out}---\n{err}")));
    // Without --explain, the warnings still go to stderr; -q silences them.
    let (_, out, err) = run(tmp.path(), &["check", "--isolated", "."]);
    assert_eq!(out.lines().count(), 2, "{out}");
    assert_eq!(err.lines().filter(|l| l.starts_with("tame: warning: ")).count(), 4, "{err}");
    let (_, _, err) = run(tmp.path(), &["check", "--isolated", "-q", "."]);
    assert_eq!(err, "");
}

#[test]
fn github_format() {
    let (code, out, _) = run(&repo(), &["check", "--format", "github", SEED]);
    assert_eq!(code, 1);
    let first = out.lines().find(|l| l.contains("bounded-retry")).unwrap();
    assert_eq!(
        first,
        format!(
            "::warning title=tame bounded-retry,file={SEED},line=35,col=9,endLine=35,endColumn=20::unbounded wait loop in `throttler.sleep` (leaves only when a condition holds, line 40): bound it to 100000 attempts and 3600 s"
        )
    );
}

/// The SARIF 2.1.0 JSON schema, as shipped in the serde-sarif crate's sources.
fn sarif_schema() -> serde_json::Value {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let out = std::process::Command::new(cargo)
        .args(["metadata", "--format-version", "1", "--locked"])
        .current_dir(repo())
        .output()
        .unwrap();
    let meta: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let manifest = meta["packages"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "serde-sarif")
        .expect("serde-sarif is a dev-dependency")["manifest_path"]
        .as_str()
        .unwrap()
        .to_owned();
    let schema = Path::new(&manifest).parent().unwrap().join("src/schema.json");
    let mut schema: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(schema).unwrap()).unwrap();
    // The published schema's `language` patterns have a stray `]` that strict
    // ECMA-262 regex checking rejects; tame never emits `language`, so the
    // corrected pattern changes nothing for this test.
    for def in ["run", "toolComponent"] {
        let lang = &mut schema["definitions"][def]["properties"]["language"]["pattern"];
        assert_eq!(lang, "^[a-zA-Z]{2}|^[a-zA-Z]{2}-[a-zA-Z]{2}]?$");
        *lang = "^[a-zA-Z]{2}|^[a-zA-Z]{2}-[a-zA-Z]{2}?$".into();
    }
    schema
}

#[test]
fn sarif_is_valid_against_the_schema() {
    let (code, out, _) = run(&repo(), &["check", "--format", "sarif", SEED]);
    assert_eq!(code, 1);
    let doc: serde_json::Value = serde_json::from_str(&out).unwrap();
    let validator = jsonschema::validator_for(&sarif_schema()).unwrap();
    let errors: Vec<String> = validator.iter_errors(&doc).map(|e| format!("{e} at {}", e.instance_path())).collect();
    assert!(errors.is_empty(), "{errors:#?}");
    // And it deserializes into serde-sarif's typed model.
    let typed: serde_sarif::sarif::Sarif = serde_json::from_value(doc.clone()).unwrap();
    assert_eq!(typed.runs.len(), 1);
    let results = doc["runs"][0]["results"].as_array().unwrap();
    assert_eq!(results.len(), 4);
    let retry = results.iter().find(|r| r["ruleId"] == "bounded-retry").unwrap();
    assert_eq!(retry["locations"][0]["physicalLocation"]["region"]["startLine"], 35);
    let replacements = retry["fixes"][0]["artifactChanges"][0]["replacements"].as_array().unwrap();
    assert!(replacements.iter().any(|r| r["insertedContent"]["text"].as_str().unwrap().contains("_attempts += 1")));
    let rules = doc["runs"][0]["tool"]["driver"]["rules"].as_array().unwrap();
    assert_eq!(rules[1]["id"], "driver-load-error");
    assert!(rules[1]["fullDescription"]["text"].as_str().unwrap().contains("driver-loading code"));
    // A validator that accepts everything would make this test meaningless.
    let mut broken = doc;
    broken["version"] = "3.0".into();
    assert!(!validator.is_valid(&broken));
}

#[test]
fn report_is_deterministic_and_lists_sites_skips_and_callers() {
    let tmp = project();
    write(
        tmp.path(),
        "pkg/agent.py",
        "from pkg import utils\n\n\ndef main(conf):\n    driver = utils.load_interface_driver(conf)\n    return driver\n",
    );
    let (code, _, err) = run(tmp.path(), &["fix", "--dry-run", "--report", "r1.md"]);
    assert_eq!(code, 0, "{err}");
    let (_, _, _) = run(tmp.path(), &["fix", "--dry-run", "--report", "r2.md"]);
    let r1 = std::fs::read_to_string(tmp.path().join("r1.md")).unwrap();
    assert_eq!(r1, std::fs::read_to_string(tmp.path().join("r2.md")).unwrap(), "same input, same bytes");
    assert!(r1.contains("This change proposes 4 rewrites in 1 file, generated by tame"), "{r1}");
    assert!(r1.contains("| `pkg/utils.py` | 35 | `throttler.sleep` | `bounded-retry` |"), "{r1}");
    assert!(r1.contains("| `pkg/utils.py` | 58 | `load_interface_driver` | `driver-load-error` |"), "{r1}");
    assert!(r1.contains("| `pkg/utils.py` | 64 | `bounded-retry` | wallclock-bounded |"), "{r1}");
    assert!(r1.contains("`pkg/agent.py:5`: `driver = utils.load_interface_driver(conf)`"), "{r1}");
    assert!(r1.contains("| `bounded-retry.max_attempts` | `100000` | default |"), "{r1}");
    assert!(r1.contains("## Reviewer checklist"), "{r1}");
}

fn interactive(dir: &Path, answers: &str) -> (i32, String, String) {
    let mut child = tame(dir)
        // Two changes to answer: the seed's clock reads are left to other tests.
        .args(["fix", "--interactive", "--skip", "monotonic-deadline", "pkg/utils.py"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(answers.as_bytes()).unwrap();
    decode(child.wait_with_output().unwrap())
}

#[test]
fn interactive_applies_only_accepted_changes() {
    let tmp = project();
    let (code, out, err) = interactive(tmp.path(), "y\nn\n");
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("Apply this change to pkg/utils.py:35 [y,n,a,q,?]?"), "{out}");
    assert!(out.contains("Apply this change to pkg/utils.py:58 [y,n,a,q,?]?"), "{out}");
    let text = std::fs::read_to_string(tmp.path().join("pkg/utils.py")).unwrap();
    assert!(text.contains("_attempts += 1"), "accepted change written");
    assert!(text.contains("raise SystemExit(1)"), "refused change not written");
    py_compile(&tmp.path().join("pkg/utils.py")).unwrap();

    let tmp = project();
    let before = std::fs::read(tmp.path().join("pkg/utils.py")).unwrap();
    let (code, out, _) = interactive(tmp.path(), "q\n");
    assert_eq!(code, 0);
    assert!(!out.contains("pkg/utils.py:58"), "q stops asking: {out}");
    assert_eq!(std::fs::read(tmp.path().join("pkg/utils.py")).unwrap(), before);

    let tmp = project();
    let (_, _, _) = interactive(tmp.path(), "?\na\n");
    let text = std::fs::read_to_string(tmp.path().join("pkg/utils.py")).unwrap();
    assert!(text.contains("_attempts += 1") && text.contains("raise DriverLoadError("), "a applies all");
}

#[test]
fn interactive_report_and_summary_count_only_accepted_changes() {
    let tmp = project();
    let mut child = tame(tmp.path())
        .args(["fix", "--interactive", "--report", "PR.md", "--skip", "monotonic-deadline", "pkg/utils.py"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(b"y\nn\n").unwrap();
    let (code, _, err) = decode(child.wait_with_output().unwrap());
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("1 changed, 1 site (bounded-retry: 1)"), "declined site not counted: {err}");
    let report = std::fs::read_to_string(tmp.path().join("PR.md")).unwrap();
    assert!(report.contains("This change makes 1 rewrite in 1 file"), "{report}");
    assert!(
        report.contains("| `bounded-retry` | 1 | 1 |") && report.contains("| `driver-load-error` | 0 | 0 |"),
        "{report}"
    );
    assert!(
        !report.contains("| `pkg/utils.py` | 58 | `load_interface_driver` |"),
        "declined site not listed as changed: {report}"
    );
    assert!(report.contains("| `pkg/utils.py` | 58 | `driver-load-error` | declined |"), "{report}");

    // Declining the first: only the second is written and counted.
    let tmp = project();
    let (code, _, err) = interactive(tmp.path(), "n\ny\n");
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("1 changed, 1 site (driver-load-error: 1)"), "{err}");
    let text = std::fs::read_to_string(tmp.path().join("pkg/utils.py")).unwrap();
    assert!(text.contains("raise DriverLoadError(") && !text.contains("_attempts"), "{text}");
}

#[test]
fn every_check_format_is_snapshotted() {
    let tmp = copy_to_temp(&repo().join("tests/fixtures/sample"));
    let root = tmp.path().join("sample");
    for format in ["text", "json", "sarif", "github"] {
        let (code, out, _) = run(&root, &["check", "--isolated", "--explain", "--format", format, "."]);
        assert_eq!(code, 1, "{format}");
        snapshot_settings().bind(|| insta::assert_snapshot!(format!("format__{format}"), out));
    }
}

#[test]
fn quiet_and_verbose() {
    let tmp = project();
    let (_, _, err) = run(tmp.path(), &["check", "--quiet"]);
    assert_eq!(err, "", "--quiet prints only errors");
    let (_, _, err) = run(tmp.path(), &["check", "--verbose"]);
    assert!(err.contains("tame: configuration file: none"), "{err}");
    assert!(err.contains("tame: processing pkg/utils.py"), "{err}");
    assert!(err.contains("tame: 0 files prefiltered out, 1 parsed partially, 0 parsed whole"), "{err}");
    assert!(err.contains("tame: 1 file scanned, 1 to change, 4 sites"), "{err}");
    let (code, _, err) = run(tmp.path(), &["check", "--quiet", "missing.py"]);
    assert_eq!(code, 2);
    assert_eq!(err.trim(), "tame: missing.py: no such file or directory");
}

/// Rewrites keep to the project's line length: the nearest flake8, ruff or
/// black setting, else 79; tame's own `line-length` (or `--line-length`)
/// wins over them.
#[test]
fn line_length_follows_the_project_configuration() {
    let loader = "import sys\n\nfrom oslo_utils import importutils\n\n\ndef load_storage_driver(conf):\n    try:\n        return importutils.import_object(conf.storage_driver_class_path)\n    except ImportError:\n        sys.exit(1)\n";
    let longest = |diff: &str| diff.lines().filter(|l| l.starts_with('+')).map(|l| l.chars().count() - 1).max();
    let tmp = tempfile::tempdir().unwrap();
    write(tmp.path(), "loader.py", loader);
    let (_, pep8, _) = run(tmp.path(), &["fix", "--dry-run", "--isolated", "loader.py"]);
    assert!(longest(&pep8).unwrap() <= 79, "{pep8}");
    write(tmp.path(), "tox.ini", "[flake8]\nmax-line-length = 120\n");
    let (_, wide, _) = run(tmp.path(), &["fix", "--dry-run", "--isolated", "loader.py"]);
    assert!(longest(&wide).unwrap() > 79 && longest(&wide).unwrap() <= 120, "the raise needs no wrap at 120: {wide}");
    let (_, narrow, _) = run(tmp.path(), &["fix", "--dry-run", "--isolated", "--line-length", "79", "loader.py"]);
    assert_eq!(narrow, pep8, "--line-length wins over tox.ini");
    write(tmp.path(), "tame.toml", "line-length = 79\n");
    let (_, configured, _) = run(tmp.path(), &["fix", "--dry-run", "loader.py"]);
    assert_eq!(configured, pep8, "tame.toml's line-length wins over tox.ini");
    let (_, config, _) = run(tmp.path(), &["config"]);
    assert!(config.contains("line-length = 79"), "{config}");
}
