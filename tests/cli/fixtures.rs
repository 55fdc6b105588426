//! Every fixture under `tests/fixtures/<transform>/` is snapshotted and verified.
//!
//! A fixture file may start with a comment `# tame-args: ...` giving extra
//! command-line arguments (for option variants). Its snapshots sit beside
//! it: `tests/fixtures/<transform>/snapshots/<case>.diff.snap` and
//! `<case>.explain.snap` (review them with `cargo insta review`). Fixtures
//! are found with `insta::glob!`, which runs every one and names the
//! failing ones; a transform's fixture folder is all it takes to be covered.

use std::cell::RefCell;
use std::path::Path;

use crate::common::*;

pub fn fixture_args(text: &str) -> Vec<String> {
    text.lines()
        .take(5)
        .find_map(|l| l.strip_prefix("# tame-args:"))
        .map(|a| a.split_whitespace().map(str::to_owned).collect())
        .unwrap_or_default()
}

/// Runs one fixture through every check; returns a failure description.
/// `settings`: where its snapshots go.
fn verify_fixture(settings: insta::Settings, prefix: &str, only: Option<&str>, file: &Path) -> Vec<String> {
    let mut failures = Vec::new();
    let case = file.file_stem().unwrap().to_string_lossy().into_owned();
    let original = std::fs::read(file).unwrap();
    let mut args: Vec<String> = only.map(|t| vec!["--only".into(), t.into()]).unwrap_or_default();
    args.extend(fixture_args(&String::from_utf8_lossy(&original)));
    let dir = tempfile::tempdir().unwrap();
    let name = file.file_name().unwrap().to_string_lossy().into_owned();
    std::fs::write(dir.path().join(&name), &original).unwrap();
    git_init(dir.path());
    let with = |cmd: &[&str]| -> Vec<String> {
        let mut v: Vec<String> = cmd.iter().map(|s| s.to_string()).collect();
        v.extend(args.iter().cloned());
        v.push(name.clone());
        v
    };
    let run = |dir: &Path, v: &[String]| {
        let refs: Vec<&str> = v.iter().map(String::as_str).collect();
        run(dir, &refs)
    };

    let (code, diff, stderr) = run(dir.path(), &with(&["fix", "--dry-run"]));
    if code != 0 {
        failures.push(format!("{case}: dry run exited {code}: {stderr}"));
    }
    let (_, explain, _) = run(dir.path(), &with(&["check", "--explain"]));
    settings.bind(|| {
        insta::assert_snapshot!(format!("{prefix}{case}.diff"), diff);
        insta::assert_snapshot!(format!("{prefix}{case}.explain"), explain);
    });
    if diff.is_empty() {
        return failures;
    }
    if let Err(e) = git_apply(dir.path(), &diff, true) {
        failures.push(format!("{case}: git apply --check rejects the diff: {e}"));
    }
    let (code, _, stderr) = run(dir.path(), &with(&["fix"]));
    if code != 0 {
        failures.push(format!("{case}: fix exited {code}: {stderr}"));
    }
    let written = std::fs::read(dir.path().join(&name)).unwrap();
    // The rewrite adds no lint finding at the fixture's line length (79, or
    // its `--line-length`): the project's lint gate stays green.
    let line_length =
        args.iter().position(|a| a == "--line-length").and_then(|i| args.get(i + 1)?.parse().ok()).unwrap_or(79);
    if let (Some(before), Some(after)) = (lint_findings(&original, line_length), lint_findings(&written, line_length)) {
        let new: Vec<String> = after
            .iter()
            // W191 (a tab in indentation) grows with every line a tab-indented
            // file gains: a project written with tabs has it off.
            .filter(|(code, n)| *code != "W191" && **n > before.get(*code).copied().unwrap_or(0))
            .map(|(code, n)| format!("{code} (x{})", n - before.get(code).copied().unwrap_or(0)))
            .collect();
        if !new.is_empty() {
            failures
                .push(format!("{case}: the rewrite adds lint findings at {line_length} columns: {}", new.join(", ")));
        }
    }
    // The diff is exactly what fix wrote: apply it to the original and compare.
    let check = tempfile::tempdir().unwrap();
    std::fs::write(check.path().join(&name), &original).unwrap();
    if git_apply(check.path(), &diff, false).is_ok() {
        let patched = std::fs::read(check.path().join(&name)).unwrap();
        if patched != written {
            failures.push(format!("{case}: the dry-run diff differs from what `tame fix` wrote"));
        }
    }
    let (code, again, _) = run(dir.path(), &with(&["fix", "--dry-run", "--allow-dirty"]));
    if code != 0 || !again.is_empty() {
        failures.push(format!("{case}: a second run still changes the file:\n{again}"));
    }
    if let Err(e) = py_compile(&dir.path().join(&name)) {
        failures.push(format!("{case}: CPython rejects the rewrite: {e}"));
    }
    failures
}

/// The snapshot settings of a transform's fixtures: beside them, named by case.
fn beside(dir: &Path) -> insta::Settings {
    let mut s = insta::Settings::clone_current();
    s.set_snapshot_path(dir.join("snapshots"));
    s.set_prepend_module_to_snapshot(false);
    s.remove_snapshot_suffix();
    s
}

/// Every fixture of every registered transform (`tests/fixtures/<id>/*.py`,
/// run with `--only <id>`), and no fixture folder without a transform.
#[test]
fn transform_fixtures() {
    let fixtures = repo().join("tests/fixtures");
    for spec in tame::transforms::specs() {
        let dir = fixtures.join(&spec.id);
        let any = std::fs::read_dir(&dir).map(|d| d.flatten().any(|e| e.path().extension().is_some_and(|x| x == "py")));
        assert!(matches!(any, Ok(true)), "{}: every transform needs fixtures", dir.display());
    }
    let failures = RefCell::new(Vec::new());
    insta::glob!(repo().join("tests/fixtures"), "*/*.py", |file| {
        let dir = file.parent().unwrap();
        let id = dir.file_name().unwrap().to_string_lossy().into_owned();
        assert!(tame::transforms::spec(&id).is_some(), "tests/fixtures/{id}: no registered transform has this id");
        let mut found = Vec::new();
        if let Err(e) = py_compile(file) {
            found.push(format!("the fixture itself does not compile: {e}"));
        }
        found.extend(verify_fixture(beside(dir), "", Some(&id), file));
        failures.borrow_mut().extend(found.into_iter().map(|f| format!("{id}/{f}")));
    });
    let failures = failures.into_inner();
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// The sample tree the README runs on (all transforms together).
#[test]
fn sample_tree() {
    let dir = repo().join("tests/fixtures/sample/neutron_agent");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "py"))
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no fixtures in {}", dir.display());
    let mut failures = Vec::new();
    for f in &files {
        if let Err(e) = py_compile(f) {
            failures.push(format!("{}: the fixture itself does not compile: {e}", f.display()));
        }
        failures.extend(verify_fixture(snapshot_settings(), "sample__", None, f));
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
