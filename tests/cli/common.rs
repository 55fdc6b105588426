//! Shared helpers: run the binary, copy fixtures, compile Python.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// A `tame` command running in `dir`.
pub fn tame(dir: &Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_tame"));
    c.current_dir(dir).env("NO_COLOR", "1");
    c
}

/// Runs `tame args...` in `dir` and returns (exit code, stdout, stderr).
pub fn run(dir: &Path, args: &[&str]) -> (i32, String, String) {
    let out = tame(dir).args(args).output().expect("tame runs");
    decode(out)
}

pub fn decode(out: Output) -> (i32, String, String) {
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Copies a directory tree (or one file) into a new temporary directory.
pub fn copy_to_temp(src: &Path) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    copy_into(src, &dir.path().join(src.file_name().unwrap()));
    dir
}

pub fn copy_into(src: &Path, dst: &Path) {
    if src.is_dir() {
        std::fs::create_dir_all(dst).unwrap();
        for e in std::fs::read_dir(src).unwrap() {
            let e = e.unwrap();
            copy_into(&e.path(), &dst.join(e.file_name()));
        }
    } else {
        std::fs::copy(src, dst).unwrap();
    }
}

/// Compiles a Python file with CPython; returns the error text on failure.
pub fn py_compile(path: &Path) -> Result<(), String> {
    let out = Command::new("python3")
        .args(["-c", "import sys; compile(open(sys.argv[1], 'rb').read(), sys.argv[1], 'exec')"])
        .arg(path)
        .output()
        .expect("python3 is installed");
    if out.status.success() { Ok(()) } else { Err(String::from_utf8_lossy(&out.stderr).into_owned()) }
}

/// The pycodestyle and pyflakes rules a project's lint gate runs (as the
/// development corpus's scorer does), counted per code, for Python `text`
/// at `line_length`. `None` when ruff is not installed and the environment
/// does not ask for it (`TAME_REQUIRE_RUFF=1`, set by `.ci/run`, makes a
/// missing ruff a failure).
pub fn lint_findings(text: &[u8], line_length: usize) -> Option<std::collections::BTreeMap<String, usize>> {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("m.py");
    std::fs::write(&file, text).unwrap();
    let select = "E1,E2,E3,E4,E5,E7,E9,W1,W2,W3,W6,F";
    let ruff = |program: &str, prefix: &[&str]| {
        Command::new(program)
            .args(prefix)
            .args(["check", "--isolated", "--no-cache", "--preview", "--output-format", "json", "--select", select])
            .args(["--line-length", &line_length.to_string()])
            .arg(&file)
            .output()
    };
    // `ruff` on PATH, else the module pip installed (`python3 -m ruff`).
    let out = ruff("ruff", &[]).or_else(|_| ruff("python3", &["-m", "ruff"]));
    let out = out.and_then(|o| {
        if o.stdout.is_empty() && !o.status.success() {
            Err(std::io::Error::other(String::from_utf8_lossy(&o.stderr).into_owned()))
        } else {
            Ok(o)
        }
    });
    let out = match out {
        Ok(out) => out,
        Err(e) if std::env::var_os("TAME_REQUIRE_RUFF").is_some() => panic!("ruff is required: {e} (pip install ruff)"),
        Err(_) => return None,
    };
    let found: Vec<serde_json::Value> = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("ruff printed no JSON ({e}): {}", String::from_utf8_lossy(&out.stderr)));
    let mut counts = std::collections::BTreeMap::new();
    for f in found {
        *counts.entry(f["code"].as_str().unwrap_or("?").to_owned()).or_insert(0) += 1;
    }
    Some(counts)
}

/// Runs a Python script; returns (success, stdout + stderr).
pub fn python(script: &str, cwd: &Path) -> (bool, String) {
    let out = Command::new("python3")
        .arg("-c")
        .arg(script)
        .current_dir(cwd)
        .stdin(Stdio::null())
        .output()
        .expect("python3 is installed");
    let mut text = String::from_utf8_lossy(&out.stdout).into_owned();
    text.push_str(&String::from_utf8_lossy(&out.stderr));
    (out.status.success(), text)
}

/// `git init` + commit everything in `dir`, so `tame fix` may write there.
pub fn git_init(dir: &Path) {
    for args in
        [&["init", "-q"][..], &["add", "-A"], &["-c", "user.email=t@t", "-c", "user.name=t", "commit", "-qm", "init"]]
    {
        let ok = Command::new("git").args(args).current_dir(dir).status().unwrap().success();
        assert!(ok, "git {args:?}");
    }
}

/// Runs `git apply --check` (or apply) on a patch in `dir`.
pub fn git_apply(dir: &Path, patch: &str, check_only: bool) -> Result<(), String> {
    let mut c = Command::new("git");
    c.arg("apply");
    if check_only {
        c.arg("--check");
    }
    let mut child = c.current_dir(dir).stdin(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
    use std::io::Write;
    child.stdin.take().unwrap().write_all(patch.as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    if out.status.success() { Ok(()) } else { Err(String::from_utf8_lossy(&out.stderr).into_owned()) }
}

/// insta settings that store snapshots in the top-level `snapshots/` folder.
pub fn snapshot_settings() -> insta::Settings {
    let mut s = insta::Settings::clone_current();
    s.set_snapshot_path(repo().join("snapshots"));
    s.set_prepend_module_to_snapshot(false);
    s
}
