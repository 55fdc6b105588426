//! Flags Ruff users reach for (issue 20): `--force-exclude`, `--exit-zero`,
//! `--statistics`, `--output-file`, a module on stdin (`-`,
//! `--stdin-filename`), `explain` without an id, and `config`'s layout.

use std::io::Write;
use std::path::Path;
use std::process::Stdio;

use crate::common::*;

const SEED: &str = "tests/fixtures/sample/neutron_agent/utils.py";

fn seed() -> String {
    std::fs::read_to_string(repo().join(SEED)).unwrap()
}

/// A temp project: `pkg/utils.py` and `vendor/x.py` (both the seed), and a
/// `tame.toml` excluding `vendor/**`.
fn project() -> tempfile::TempDir {
    let tmp = tempfile::tempdir().unwrap();
    for dir in ["pkg", "vendor"] {
        std::fs::create_dir(tmp.path().join(dir)).unwrap();
    }
    std::fs::write(tmp.path().join("pkg/utils.py"), seed()).unwrap();
    std::fs::write(tmp.path().join("vendor/x.py"), seed()).unwrap();
    std::fs::write(tmp.path().join("tame.toml"), "exclude = [\"vendor/**\"]\n").unwrap();
    tmp
}

/// Runs `tame args...` in `dir` with `input` on stdin.
fn run_stdin(dir: &Path, args: &[&str], input: &[u8]) -> (i32, Vec<u8>, String) {
    let mut child =
        tame(dir).args(args).stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
    child.stdin.take().unwrap().write_all(input).unwrap();
    let out = child.wait_with_output().unwrap();
    (out.status.code().unwrap_or(-1), out.stdout, String::from_utf8_lossy(&out.stderr).into_owned())
}

#[test]
fn force_exclude_applies_include_and_exclude_to_named_files() {
    let tmp = project();
    let (code, out, err) = run(tmp.path(), &["check", "--force-exclude", "vendor/x.py"]);
    assert_eq!((code, out.as_str()), (0, ""), "{err}");
    assert_eq!(err, "tame: 0 files scanned, 0 to change, 0 sites\n");
    // Without the flag a named file is always processed.
    let (code, out, _) = run(tmp.path(), &["check", "vendor/x.py"]);
    assert_eq!(code, 1);
    assert!(out.starts_with("vendor/x.py:24:34: monotonic-deadline"), "{out}");
    // Files not excluded are still processed, and `include` applies too.
    let (code, out, _) = run(tmp.path(), &["check", "--force-exclude", "pkg/utils.py", "vendor/x.py"]);
    assert_eq!(code, 1);
    assert!(out.lines().all(|l| l.starts_with("pkg/utils.py:")) && !out.is_empty(), "{out}");
    std::fs::write(tmp.path().join("tame.toml"), "include = [\"vendor/**\"]\n").unwrap();
    let (code, out, _) = run(tmp.path(), &["check", "--force-exclude", "pkg/utils.py"]);
    assert_eq!((code, out.as_str()), (0, ""));
    // `fix` obeys it as well: the excluded file is not written.
    git_init(tmp.path());
    std::fs::write(tmp.path().join("tame.toml"), "exclude = [\"vendor/**\"]\n").unwrap();
    let (code, _, err) = run(tmp.path(), &["fix", "--allow-dirty", "--force-exclude", "vendor/x.py"]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(std::fs::read_to_string(tmp.path().join("vendor/x.py")).unwrap(), seed());
}

#[test]
fn pre_commit_hooks_force_exclude() {
    let hooks = std::fs::read_to_string(repo().join(".pre-commit-hooks.yaml")).unwrap();
    let entries: Vec<&str> = hooks.lines().filter_map(|l| l.trim().strip_prefix("entry: ")).collect();
    assert_eq!(entries, ["tame check --force-exclude", "tame fix --allow-dirty --force-exclude"]);
}

#[test]
fn exit_zero_keeps_the_output_but_not_the_code() {
    let tmp = project();
    let (code, listed, _) = run(tmp.path(), &["check"]);
    assert_eq!(code, 1);
    let (code, out, err) = run(tmp.path(), &["check", "--exit-zero"]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(out, listed);
    assert!(err.contains("1 to change, 4 sites"), "{err}");
    // Errors still exit 2.
    std::fs::write(tmp.path().join("pkg/bin.py"), b"x = 1\0").unwrap();
    let (code, _, err) = run(tmp.path(), &["check", "--exit-zero"]);
    assert_eq!(code, 2, "{err}");
}

#[test]
fn statistics_count_per_transform_and_class() {
    let tmp = project();
    let (code, out, err) = run(tmp.path(), &["check", "--statistics"]);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("1 to change, 4 sites"), "the summary is unchanged: {err}");
    let (_, explained, _) = run(tmp.path(), &["check", "--statistics", "--explain"]);
    snapshot_settings().bind(|| {
        insta::assert_snapshot!("statistics__text", out);
        insta::assert_snapshot!("statistics__explain", explained);
    });
    let (code, json, _) = run(tmp.path(), &["check", "--statistics", "--format", "json"]);
    assert_eq!(code, 1);
    let rows: serde_json::Value = serde_json::from_str(&json).unwrap();
    let sites: u64 =
        rows.as_array().unwrap().iter().filter(|r| r["class"] == "site").map(|r| r["count"].as_u64().unwrap()).sum();
    assert_eq!(sites, 4, "{json}");
    assert!(rows.as_array().unwrap().iter().any(|r| r["class"] == "service-loop"), "json counts left alone: {json}");
    let (code, _, err) = run(tmp.path(), &["check", "--statistics", "--format", "sarif"]);
    assert_eq!(code, 2);
    assert_eq!(err, "tame: --statistics prints text or json, not another format\n");
}

#[test]
fn output_file_takes_what_stdout_would_get() {
    let tmp = project();
    for format in ["text", "json", "sarif", "github"] {
        let (code, expected, _) = run(tmp.path(), &["check", "--format", format]);
        assert_eq!(code, 1);
        let (code, out, err) = run(tmp.path(), &["check", "--format", format, "--output-file", "out.txt"]);
        assert_eq!((code, out.as_str()), (1, ""), "{format}");
        assert!(err.contains("1 to change, 4 sites"), "the summary stays on stderr: {err}");
        assert_eq!(std::fs::read_to_string(tmp.path().join("out.txt")).unwrap(), expected, "{format}");
    }
    let (_, diff, _) = run(tmp.path(), &["fix", "--dry-run"]);
    assert!(diff.starts_with("--- a/pkg/utils.py"), "{diff}");
    let (code, out, _) = run(tmp.path(), &["fix", "--dry-run", "--color", "never", "--output-file", "d.patch"]);
    assert_eq!((code, out.as_str()), (0, ""));
    assert_eq!(std::fs::read_to_string(tmp.path().join("d.patch")).unwrap(), diff);
    let (code, _, err) = run(tmp.path(), &["fix", "--output-file", "d.patch"]);
    assert_eq!(code, 2, "--output-file needs --dry-run: {err}");
    let (code, _, err) = run(tmp.path(), &["check", "--output-file", "missing/out.txt"]);
    assert_eq!(code, 2);
    assert_eq!(err, "tame: missing/out.txt: could not create the output file: no such file or directory\n");
}

#[test]
fn check_reads_a_module_from_stdin() {
    let tmp = project();
    let (code, out, err) = run_stdin(tmp.path(), &["check", "-"], seed().as_bytes());
    let out = String::from_utf8(out).unwrap();
    assert_eq!(code, 1, "{err}");
    assert!(out.lines().all(|l| l.starts_with("-:")) && out.lines().count() == 4, "{out}");
    assert_eq!(
        err,
        "tame: 1 file scanned, 1 to change, 4 sites (bounded-retry: 1, driver-load-error: 1, monotonic-deadline: 2)\n"
    );
    // The filename names the output and finds the configuration (here a
    // nearer tame.toml with per-file-ignores).
    std::fs::write(
        tmp.path().join("pkg/tame.toml"),
        "[per-file-ignores]\n\"a.py\" = [\"monotonic-deadline\", \"driver-load-error\"]\n",
    )
    .unwrap();
    let (code, out, _) = run_stdin(tmp.path(), &["check", "--stdin-filename", "pkg/a.py", "-"], seed().as_bytes());
    let out = String::from_utf8(out).unwrap();
    assert_eq!(code, 1);
    assert!(out.starts_with("pkg/a.py:35:9: bounded-retry ") && out.lines().count() == 1, "{out}");
    // Excluded with --force-exclude: nothing reported; without it, processed.
    let args = ["check", "--force-exclude", "--stdin-filename", "vendor/y.py"];
    let (code, out, err) = run_stdin(tmp.path(), &args, seed().as_bytes());
    assert_eq!((code, out.as_slice()), (0, &b""[..]), "{err}");
    let (code, out, _) = run_stdin(tmp.path(), &["check", "--stdin-filename", "vendor/y.py"], seed().as_bytes());
    assert_eq!(code, 1);
    assert!(String::from_utf8(out).unwrap().starts_with("vendor/y.py:24:34:"));
    // Errors go to stderr, with exit 2.
    let (code, out, err) = run_stdin(tmp.path(), &["check", "-"], b"x = 1\0");
    assert_eq!((code, out.as_slice()), (2, &b""[..]));
    assert!(err.starts_with("tame: -: binary file (NUL byte at offset 5)\n"), "{err}");
    // `-` must be alone.
    let (code, _, err) = run_stdin(tmp.path(), &["check", "-", "pkg"], b"");
    assert_eq!((code, err.as_str()), (2, "tame: `-` (stdin) must be the only path\n"));
}

#[test]
fn fix_reads_stdin_and_writes_the_whole_module_to_stdout() {
    let tmp = project();
    git_init(tmp.path());
    let (code, fixed, err) = run_stdin(tmp.path(), &["fix", "--stdin-filename", "pkg/utils.py"], seed().as_bytes());
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("1 changed, 4 sites"), "{err}");
    // Nothing on disk changed; stdout is what `tame fix` writes.
    assert_eq!(std::fs::read_to_string(tmp.path().join("pkg/utils.py")).unwrap(), seed());
    let (code, _, err) = run(tmp.path(), &["fix", "pkg/utils.py"]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(fixed, std::fs::read(tmp.path().join("pkg/utils.py")).unwrap());
    // Unchanged, excluded or in error: the module comes back as it went in.
    for (args, input, want) in [
        (&["fix", "-"][..], &b"x = 1\n"[..], 0),
        (&["fix", "--force-exclude", "--stdin-filename", "vendor/y.py"], seed().as_bytes(), 0),
        (&["fix", "-"], b"x = 1\0", 2),
    ] {
        let (code, out, err) = run_stdin(tmp.path(), args, input);
        assert_eq!(code, want, "{args:?}: {err}");
        assert_eq!(out, input, "{args:?}");
    }
    // --dry-run: the diff, named after --stdin-filename.
    let (code, diff, _) =
        run_stdin(tmp.path(), &["fix", "--dry-run", "--stdin-filename", "vendor/x.py", "-"], seed().as_bytes());
    let diff = String::from_utf8(diff).unwrap();
    assert_eq!(code, 0);
    assert!(diff.starts_with("--- a/vendor/x.py\n+++ b/vendor/x.py\n"), "{diff}");
    git_apply(tmp.path(), &diff, true).unwrap();
    let (code, _, err) = run_stdin(tmp.path(), &["fix", "--interactive", "-"], b"");
    assert_eq!(code, 2);
    assert_eq!(err, "tame: `--interactive` and `--report` do not combine with a module read from stdin\n");
}

/// In a package, `fix` on files gathers the driver exception in one home
/// module it writes; from stdin nothing may be written, so the module
/// defines its own exception, imports the one its package's exceptions
/// module already defines, or the one `--driver-exception` names.
#[test]
fn stdin_driver_exception_never_writes_a_home() {
    let tmp = tempfile::tempdir().unwrap();
    let pkg = tmp.path().join("pkg");
    std::fs::create_dir(&pkg).unwrap();
    for (name, text) in
        [("__init__.py", String::new()), ("exceptions.py", String::new()), ("utils.py", seed()), ("other.py", seed())]
    {
        std::fs::write(pkg.join(name), text).unwrap();
    }
    let (code, diff, err) = run(tmp.path(), &["fix", "--dry-run", "--only", "driver-load-error", "pkg"]);
    assert_eq!(code, 0, "{err}");
    assert!(
        diff.contains("+++ b/pkg/exceptions.py") && diff.contains("+from pkg.exceptions import DriverLoadError"),
        "{diff}"
    );
    let fix = |extra: &[&str]| {
        let mut args = vec!["fix", "--only", "driver-load-error", "--stdin-filename", "pkg/utils.py"];
        args.extend_from_slice(extra);
        let (code, out, err) = run_stdin(tmp.path(), &args, seed().as_bytes());
        assert_eq!(code, 0, "{err}");
        String::from_utf8(out).unwrap()
    };
    let own = fix(&[]);
    assert!(own.contains("class DriverLoadError(Exception):") && own.contains("raise DriverLoadError("), "{own}");
    assert_eq!(std::fs::read_to_string(pkg.join("exceptions.py")).unwrap(), "", "nothing written");
    std::fs::write(pkg.join("exceptions.py"), "class DriverLoadError(Exception):\n    pass\n").unwrap();
    let shared = fix(&[]);
    assert!(
        shared.contains("from pkg.exceptions import DriverLoadError") && !shared.contains("class DriverLoadError"),
        "{shared}"
    );
    let named = fix(&["--driver-exception", "pkg.errors:LoadError"]);
    assert!(named.contains("from pkg.errors import LoadError") && !named.contains("class LoadError"), "{named}");
}

#[test]
fn explain_without_id_lists_the_transforms() {
    let tmp = tempfile::tempdir().unwrap();
    let (code, listed, _) = run(tmp.path(), &["transforms"]);
    assert_eq!(code, 0);
    assert!(listed.starts_with("bounded-retry "), "{listed}");
    let (code, out, _) = run(tmp.path(), &["explain"]);
    assert_eq!((code, out), (0, listed));
}

#[test]
fn config_aligns_origins_without_trailing_spaces() {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::write(tmp.path().join("tame.toml"), "exclude = [\"vendor/**\"]\n[bounded-retry]\nmax_attempts = 5\n")
        .unwrap();
    let (code, out, err) = run(tmp.path(), &["config", "--deadline", "30"]);
    assert_eq!(code, 0, "{err}");
    assert!(!out.lines().any(|l| l.ends_with(' ')), "{out}");
    // Short settings line their origins up; a long one does not push them right.
    let column = |key: &str| out.lines().find(|l| l.starts_with(key)).and_then(|l| l.find("  # ")).unwrap();
    assert_eq!(column("ignore"), column("bounded-retry.deadline"));
    assert!(out.lines().all(|l| l.len() < 100 || l.starts_with("driver-load-error.")), "{out}");
    snapshot_settings().bind(|| insta::assert_snapshot!("config__layout", out));
}
