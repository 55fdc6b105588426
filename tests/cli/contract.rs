//! The CLI contract: commands, selection, exit codes, paths, diffs that
//! `git apply` accepts, byte-identical untouched files, broken pipes.

use crate::common::*;

const SEED: &str = "tests/fixtures/sample/neutron_agent/utils.py";

#[test]
fn transforms_and_explain() {
    let (code, out, _) = run(&repo(), &["transforms"]);
    assert_eq!(code, 0);
    assert!(out.starts_with("bounded-retry "), "{out}");
    assert!(out.contains("\ndriver-load-error "), "{out}");
    for id in ["bounded-retry", "driver-load-error"] {
        let (code, out, _) = run(&repo(), &["explain", id]);
        assert_eq!(code, 0);
        for section in ["## What it does", "## Why", "## Example", "## Fix safety", "## Options"] {
            assert!(out.contains(section), "explain {id} lacks {section}");
        }
    }
    let (code, _, err) = run(&repo(), &["explain", "nope"]);
    assert_eq!((code, err.trim()), (2, "tame: unknown transform `nope` (see `tame transforms`)"));
}

#[test]
fn explain_shows_option_defaults() {
    let (_, out, _) = run(&repo(), &["explain", "bounded-retry"]);
    assert!(out.contains("max_attempts (integer, --max-attempts; default: 100000)"), "{out}");
    assert!(out.contains("deadline (float, --deadline; default: 3600.0)"), "{out}");
}

#[test]
fn selection_and_bad_arguments_exit_2() {
    let (code, _, err) = run(&repo(), &["check", "--only", "nope", SEED]);
    assert_eq!(code, 2);
    assert!(err.contains("unknown transform `nope`"), "{err}");
    let (code, _, err) = run(&repo(), &["check", "--skip", "nah", SEED]);
    assert_eq!(code, 2);
    assert!(err.contains("unknown transform `nah`"), "{err}");
    let (code, _, err) = run(&repo(), &["check", "--deadline=-5", SEED]);
    assert_eq!(code, 2);
    assert!(err.contains("option `bounded-retry.deadline`: must be a positive number of seconds"), "{err}");
    let (code, _, _) = run(&repo(), &["check", "--bogus"]);
    assert_eq!(code, 2);
}

#[test]
fn check_lines_and_exit_codes() {
    let (code, out, err) = run(&repo(), &["check", SEED]);
    assert_eq!(code, 1, "{err}");
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 4, "{out}");
    assert!(lines[0].starts_with(&format!("{SEED}:24:34: monotonic-deadline ")), "{out}");
    assert!(lines[1].starts_with(&format!("{SEED}:35:9: bounded-retry ")), "{out}");
    assert!(lines[2].starts_with(&format!("{SEED}:58:9: driver-load-error ")), "{out}");
    assert!(lines[3].starts_with(&format!("{SEED}:63:16: monotonic-deadline ")), "{out}");
    assert!(
        err.contains("1 file scanned")
            && err.contains("(bounded-retry: 1, driver-load-error: 1, monotonic-deadline: 2)"),
        "{err}"
    );
    let (code, out, _) = run(&repo(), &["check", "--only", "driver-load-error", SEED]);
    assert_eq!((code, out.lines().count()), (1, 1));
    let (code, out, _) = run(&repo(), &["check", "--skip", "bounded-retry,driver-load-error,monotonic-deadline", SEED]);
    assert_eq!(code, 2, "{out}");
}

#[test]
fn check_json_schema() {
    let (code, out, _) = run(&repo(), &["check", "--format", "json", SEED]);
    assert_eq!(code, 1);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["version"], 1);
    let sites = v["sites"].as_array().unwrap();
    assert_eq!(sites.len(), 4);
    let s = sites.iter().find(|s| s["transform"] == "bounded-retry").unwrap();
    assert_eq!(s["path"], SEED);
    assert_eq!(s["transform"], "bounded-retry");
    assert_eq!(s["start"]["line"], 35);
    assert_eq!(s["start"]["column"], 9);
    assert_eq!(s["applicability"], "review");
    assert!(s["edits"].as_array().unwrap().iter().any(|e| e["content"].as_str().unwrap().contains("_attempts += 1")));
    let skipped = v["skipped"].as_array().unwrap();
    assert!(skipped.iter().any(|k| k["class"] == "wallclock-bounded"), "{out}");
    assert_eq!(v["errors"].as_array().unwrap().len(), 0);
}

#[test]
fn seed_module_in_a_git_repo_round_trip() {
    let tmp = copy_to_temp(&repo().join("tests/fixtures/sample"));
    let root = tmp.path().join("sample");
    git_init(&root);
    let (code, diff, err) = run(&root, &["fix", "--dry-run", "."]);
    assert_eq!(code, 0, "{err}");
    assert!(diff.starts_with("--- a/neutron_agent/utils.py\n+++ b/neutron_agent/utils.py\n"), "{diff}");
    git_apply(&root, &diff, true).expect("git apply --check accepts the dry-run diff");
    let (code, _, err) = run(&root, &["fix", "."]);
    assert_eq!(code, 0, "{err}");
    let out = std::process::Command::new("git").args(["diff"]).current_dir(&root).output().unwrap();
    let git_diff = String::from_utf8_lossy(&out.stdout);
    // git's own diff of what was written has the same hunks as the preview.
    // (git adds the enclosing function after `@@ ... @@`; tame does not.)
    let hunks =
        |d: &str| {
            d.lines()
                .filter(|l| !l.starts_with("diff ") && !l.starts_with("index "))
                .map(|l| {
                    if l.starts_with("@@") {
                        l.rsplit_once("@@").map_or(l, |(h, _)| h).to_owned()
                    } else {
                        l.to_owned()
                    }
                })
                .collect::<Vec<_>>()
        };
    assert_eq!(hunks(&git_diff), hunks(&diff));
    let (code, again, _) = run(&root, &["fix", "--dry-run", "."]);
    assert_eq!((code, again.as_str()), (0, ""));
}

#[test]
fn no_path_means_current_directory_and_files_are_sorted() {
    let tmp = tempfile::tempdir().unwrap();
    let seed = std::fs::read_to_string(repo().join(SEED)).unwrap();
    for name in ["b.py", "a.py", "sub/c.py"] {
        let p = tmp.path().join(name);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, &seed).unwrap();
    }
    let (code, diff, _) = run(tmp.path(), &["fix", "--dry-run"]);
    assert_eq!(code, 0);
    let headers: Vec<&str> = diff.lines().filter(|l| l.starts_with("+++ ")).collect();
    assert_eq!(headers, ["+++ b/a.py", "+++ b/b.py", "+++ b/sub/c.py"]);
}

#[test]
fn missing_path_exits_2_and_other_files_are_processed() {
    let tmp = copy_to_temp(&repo().join(SEED));
    let (code, diff, err) = run(tmp.path(), &["fix", "--dry-run", "missing.py", "utils.py"]);
    assert_eq!(code, 2);
    assert!(err.contains("tame: missing.py: no such file or directory"), "{err}");
    assert!(diff.contains("+++ b/utils.py"), "the other file is still processed");
}

#[test]
fn unreadable_file_exits_2_and_other_files_are_processed() {
    use std::os::unix::fs::PermissionsExt;
    let tmp = copy_to_temp(&repo().join(SEED));
    let locked = tmp.path().join("locked.py");
    std::fs::write(&locked, "x = 1\n").unwrap();
    std::fs::set_permissions(&locked, std::fs::Permissions::from_mode(0o000)).unwrap();
    // Root reads any file; /proc/self/mem is unreadable even for root.
    let target = if std::fs::read(&locked).is_err() { "locked.py".to_owned() } else { "/proc/self/mem".to_owned() };
    let (code, diff, err) = run(tmp.path(), &["fix", "--dry-run", &target, "utils.py"]);
    assert_eq!(code, 2);
    assert!(err.contains(&format!("tame: {target}: could not read")), "{err}");
    assert!(diff.contains("+++ b/utils.py"));
}

#[test]
fn untouched_files_stay_byte_identical() {
    let tmp = tempfile::tempdir().unwrap();
    let cases: [(&str, &[u8]); 4] = [
        ("crlf.py", b"import time\r\ndef f():\r\n    while True:\r\n        time.sleep(1)\r\n"),
        ("bom.py", b"\xEF\xBB\xBFimport time\nwhile True:\n    time.sleep(0)\n"),
        ("tabs.py", b"import sys\ndef main():\n\tif x:\n\t\tsys.exit(1)\n"),
        ("noeol.py", b"x = 1"),
    ];
    for (name, bytes) in cases {
        std::fs::write(tmp.path().join(name), bytes).unwrap();
    }
    let (code, diff, err) = run(tmp.path(), &["fix", "."]);
    assert_eq!((code, diff.as_str()), (0, ""), "{err}");
    for (name, bytes) in cases {
        assert_eq!(std::fs::read(tmp.path().join(name)).unwrap(), bytes, "{name} changed");
    }
}

#[test]
fn crlf_tab_and_bom_files_keep_their_style_when_rewritten() {
    let tmp = tempfile::tempdir().unwrap();
    let src = b"\xEF\xBB\xBFimport time\r\n\r\ndef f(ready):\r\n\twhile True:\r\n\t\tif ready():\r\n\t\t\tbreak\r\n\t\ttime.sleep(1)\r\n";
    std::fs::write(tmp.path().join("m.py"), src).unwrap();
    let (code, _, err) = run(tmp.path(), &["fix", "m.py"]);
    assert_eq!(code, 0, "{err}");
    let out = std::fs::read(tmp.path().join("m.py")).unwrap();
    assert!(out.starts_with(b"\xEF\xBB\xBF"), "BOM kept");
    let text = String::from_utf8_lossy(&out[3..]).into_owned();
    assert!(!text.replace("\r\n", "").contains('\n'), "only CRLF line endings: {text:?}");
    assert!(text.contains("\t_attempts, _deadline = 0, time.monotonic() + 3600.0\r\n"), "{text:?}");
    assert!(text.contains("\t\t_attempts += 1\r\n"), "{text:?}");
    assert!(text.contains("\telse:\r\n\t\traise TimeoutError("), "{text:?}");
    py_compile(&tmp.path().join("m.py")).unwrap();
}

#[test]
fn color_only_when_asked() {
    let (_, plain, _) = run(&repo(), &["fix", "--dry-run", SEED]);
    assert!(!plain.contains('\x1b'), "no colour when stdout is not a terminal");
    let (_, colored, _) = run(&repo(), &["fix", "--dry-run", "--color", "always", SEED]);
    assert!(colored.contains("\x1b[32m+"), "{colored}");
}

#[test]
fn broken_pipe_exits_quietly() {
    let tmp = tempfile::tempdir().unwrap();
    let seed = std::fs::read_to_string(repo().join(SEED)).unwrap();
    for i in 0..200 {
        std::fs::write(tmp.path().join(format!("m{i:03}.py")), &seed).unwrap();
    }
    let mut child = tame(tmp.path())
        .args(["fix", "--dry-run", "."])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Read one line, then close the pipe: tame's next writes hit EPIPE.
    let mut stdout = child.stdout.take().unwrap();
    let mut buf = [0u8; 16];
    std::io::Read::read_exact(&mut stdout, &mut buf).unwrap();
    drop(stdout);
    let out = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{err}");
    assert!(!err.contains("panicked") && !err.contains("Broken pipe"), "{err}");
}
