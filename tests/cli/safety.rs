//! Issue 5's bad-input matrix: one test per input that could hurt a batch
//! run. Each case runs the real binary on a tree holding the bad input and a
//! seed-shaped file with real sites (`seed.py`), and asserts the message on
//! stderr, the exit code, that the bad input was left byte-identical (or
//! processed correctly), and that `seed.py` was still rewritten exactly as
//! it is when processed alone. No case may panic or overflow the stack.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

use crate::common::*;

const SEED: &str = "tests/fixtures/sample/neutron_agent/utils.py";

/// The seed module's bytes.
fn seed() -> Vec<u8> {
    std::fs::read(repo().join(SEED)).unwrap()
}

/// The seed module as `tame fix` writes it when it is the only file.
fn seed_fixed() -> &'static [u8] {
    static FIXED: OnceLock<Vec<u8>> = OnceLock::new();
    FIXED.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("seed.py"), seed()).unwrap();
        let (code, _, err) = run(dir.path(), &["fix", "seed.py"]);
        assert_eq!(code, 0, "{err}");
        let fixed = std::fs::read(dir.path().join("seed.py")).unwrap();
        assert_ne!(fixed, seed(), "the seed has sites");
        py_compile(&dir.path().join("seed.py")).unwrap();
        fixed
    })
}

/// A temporary tree with `seed.py` and `files`.
fn tree(files: &[(&str, &[u8])]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("seed.py"), seed()).unwrap();
    for (name, bytes) in files {
        let p = dir.path().join(name);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, bytes).unwrap();
    }
    dir
}

struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

/// Checks what every run must satisfy: it ended by itself (no signal such as
/// SIGSEGV from a stack overflow) and did not panic.
fn finished(out: Output) -> Run {
    let signal = std::os::unix::process::ExitStatusExt::signal(&out.status);
    let (code, stdout, stderr) = decode(out);
    assert_eq!(signal, None, "tame was killed by a signal: {stderr}");
    assert_ne!(code, 101, "tame panicked: {stderr}");
    assert!(!stderr.contains("panicked") && !stderr.contains("overflow"), "{stderr}");
    Run { code, stdout, stderr }
}

fn tame_in(dir: &Path, args: &[&str]) -> Run {
    finished(tame(dir).args(args).output().expect("tame runs"))
}

fn read(dir: &Path, name: &str) -> Vec<u8> {
    std::fs::read(dir.join(name)).unwrap()
}

/// `seed.py` in `dir` was rewritten exactly as when processed alone.
fn assert_seed_fixed(dir: &Path) {
    assert!(read(dir, "seed.py") == seed_fixed(), "seed.py was not rewritten as when processed alone");
}

/// The dry-run diff holds `seed.py`'s full rewrite.
fn assert_seed_in_diff(diff: &str) {
    let alone = tree(&[]);
    let (code, expected, err) = run(alone.path(), &["fix", "--dry-run", "seed.py"]);
    assert_eq!(code, 0, "{err}");
    assert!(!expected.is_empty());
    assert!(diff.contains(&expected), "seed.py's diff is missing or different:\n{diff}");
}

/// Runs `tame` so that file permissions bind even when the tests run as
/// root: root ignores mode bits through CAP_DAC_OVERRIDE and
/// CAP_DAC_READ_SEARCH, so those are dropped from the bounding set first.
fn tame_without_root_powers(dir: &Path, args: &[&str]) -> Run {
    if !running_as_root() {
        return tame_in(dir, args);
    }
    let out = Command::new("setpriv")
        .arg("--bounding-set=-dac_override,-dac_read_search")
        .arg(env!("CARGO_BIN_EXE_tame"))
        .args(args)
        .current_dir(dir)
        .env("NO_COLOR", "1")
        .output()
        .expect("setpriv (util-linux) is installed: the tests run as root and need it to drop DAC overrides");
    finished(out)
}

fn running_as_root() -> bool {
    Command::new("id").arg("-u").output().is_ok_and(|o| o.stdout.trim_ascii() == b"0")
}

/// Whether a process started like [`tame_without_root_powers`] is denied `path`.
fn is_denied(path: &Path) -> bool {
    let mut c = if running_as_root() {
        let mut c = Command::new("setpriv");
        c.arg("--bounding-set=-dac_override,-dac_read_search").arg("cat");
        c
    } else {
        Command::new("cat")
    };
    if path.is_dir() {
        c = Command::new("sh");
        let lister = if running_as_root() { "setpriv --bounding-set=-dac_override,-dac_read_search ls" } else { "ls" };
        c.args(["-c", &format!("{lister} \"$0\"")]);
    }
    !c.arg(path).output().unwrap().status.success()
}

fn chmod(path: &Path, mode: u32) {
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

fn mode(path: &Path) -> u32 {
    std::fs::symlink_metadata(path).unwrap().permissions().mode() & 0o7777
}

/// A wait loop tame rewrites, as a module of its own.
const WAIT: &str = "import time\n\n\ndef wait(ready):\n    while True:\n        if ready():\n            break\n        time.sleep(1)\n";

#[test]
fn undeclared_non_utf8_bytes_are_reported_and_left_alone() {
    let bad = b"import time\nname = 'caf\xe9'\nwhile True:\n    time.sleep(1)\n";
    let dir = tree(&[("bad.py", bad)]);
    let r = tame_in(dir.path(), &["fix", "."]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    let at = bad.iter().position(|b| !b.is_ascii()).unwrap();
    let message =
        format!("tame: bad.py: not valid UTF-8 (byte {at}) and no PEP 263 coding cookie declares another encoding");
    assert!(r.stderr.contains(&message), "{}", r.stderr);
    assert_eq!(read(dir.path(), "bad.py"), bad);
    assert_seed_fixed(dir.path());
    // check reports the same error, and still the seed's sites.
    let dir = tree(&[("bad.py", bad)]);
    let r = tame_in(dir.path(), &["check", "."]);
    assert_eq!(r.code, 2, "errors win over sites");
    assert!(r.stderr.contains("tame: bad.py: not valid UTF-8"), "{}", r.stderr);
    assert!(r.stdout.contains("seed.py:35:9: bounded-retry"), "{}", r.stdout);
}

#[test]
fn binary_files_and_nul_bytes_are_reported_and_left_alone() {
    let elf = b"\x7fELF\x02\x01\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x03\x00>\x00";
    let nul = b"import time\nwhile True:\n    time.sleep(1)\x00\n";
    let dir = tree(&[("binary.py", elf), ("nul.py", nul)]);
    let r = tame_in(dir.path(), &["fix", "."]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(r.stderr.contains("tame: binary.py: binary file (NUL byte at offset 7)"), "{}", r.stderr);
    let at = nul.iter().position(|&b| b == 0).unwrap();
    assert!(r.stderr.contains(&format!("tame: nul.py: binary file (NUL byte at offset {at})")), "{}", r.stderr);
    assert_eq!(read(dir.path(), "binary.py"), elf);
    assert_eq!(read(dir.path(), "nul.py"), nul);
    assert_seed_fixed(dir.path());
}

/// Error regions (ERROR/MISSING nodes) of Python text, via tame's parser.
fn error_regions(bytes: &[u8]) -> usize {
    let text = std::str::from_utf8(bytes).unwrap();
    tame::python::parse::error_ranges(&tame::python::parse::parse(text).unwrap()).len()
}

#[test]
fn syntax_errors_are_never_made_worse_and_valid_sites_are_still_fixed() {
    // A wait loop whose body holds a syntax error, and a valid one elsewhere.
    let broken_fn =
        "def broken(ready):\n    while True:\n        if ready(:\n            break\n        time.sleep(1)\n";
    let src = format!(
        "import time\n\n\n{broken_fn}\n\ndef fine(ready):\n    while True:\n        if ready():\n            break\n        time.sleep(1)\n"
    );
    // A file tree-sitter cannot make sense of at all, with the trigger words.
    let garbage = b"while True: sleep( ((( raise SystemExit(1) ]]]\n\tdef\n";
    let dir = tree(&[("broken.py", src.as_bytes()), ("garbage.py", garbage)]);
    let r = tame_in(dir.path(), &["check", "--explain", "."]);
    assert_eq!(r.code, 1, "syntax errors are not run errors: {}", r.stderr);
    assert!(
        r.stdout.contains(
            "broken.py:5:5: bounded-retry skipped [syntax-error] the site touches a region tree-sitter could not parse"
        ),
        "{}",
        r.stdout
    );
    assert!(r.stdout.contains("broken.py:12:5: bounded-retry unbounded wait loop in `fine`"), "{}", r.stdout);
    // The regions that could not be parsed are named, and the files counted.
    assert!(
        r.stdout.contains(
            "broken.py:6:17: tame skipped [unparsed] line 6 could not be parsed (a syntax error): no candidate there \
             was examined"
        ),
        "{}",
        r.stdout
    );
    assert!(
        r.stdout.contains("garbage.py:1:13: tame skipped [unparsed] lines 1-2 could not be parsed"),
        "{}",
        r.stdout
    );
    assert!(r.stderr.contains("; 2 files with code tame could not parse (-v lists it)"), "{}", r.stderr);
    let r = tame_in(dir.path(), &["check", "-v", "."]);
    assert!(r.stderr.contains("tame: broken.py:6:17: line 6 could not be parsed"), "{}", r.stderr);

    let r = tame_in(dir.path(), &["fix", "."]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let out = read(dir.path(), "broken.py");
    let text = String::from_utf8(out.clone()).unwrap();
    assert!(text.contains(broken_fn), "the function with the error is untouched:\n{text}");
    assert!(text.contains("def fine(ready):\n    _attempts, _deadline = 0, time.monotonic() + 3600.0\n"), "{text}");
    assert!(error_regions(&out) <= error_regions(src.as_bytes()), "no new error regions:\n{text}");
    assert_eq!(read(dir.path(), "garbage.py"), garbage);
    assert_seed_fixed(dir.path());
}

#[test]
fn a_ten_megabyte_file_of_200_000_lines_is_processed() {
    // The seed's sites, then ~10 MB of plain statements after them (short,
    // without strings, so they change neither the line limit nor the quote
    // style the rewrite follows).
    let mut filler = String::with_capacity(11 << 20);
    for i in 0..200_000 {
        filler.push_str(&format!("value_{i:06} = compute(1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12)\n"));
    }
    let mut big = seed();
    big.extend_from_slice(filler.as_bytes());
    assert!(big.len() >= 10_000_000 && big.iter().filter(|&&b| b == b'\n').count() >= 200_000);
    let dir = tree(&[("big.py", &big)]);
    let r = tame_in(dir.path(), &["fix", "."]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let mut expected = seed_fixed().to_vec();
    expected.extend_from_slice(filler.as_bytes());
    assert!(read(dir.path(), "big.py") == expected, "big.py is the seed's rewrite followed by the untouched filler");
    assert_seed_fixed(dir.path());
}

#[test]
fn expressions_nested_20_000_levels_deep_do_not_overflow() {
    let depth = 20_000;
    let nest = |open: &str, inner: &str, close: &str| format!("{}{inner}{}", open.repeat(depth), close.repeat(depth));
    let mut deep = String::from_utf8(seed()).unwrap();
    deep.push_str(&format!("\nPARENS = {}\n", nest("(", "1", ")")));
    deep.push_str(&format!("LISTS = {}\n", nest("[", "", "]")));
    deep.push_str(&format!("CALLS = {}\n", nest("f(", "", ")")));
    deep.push_str(&format!("SUMS = {}1\n", "1 + ".repeat(depth)));
    deep.push_str(&format!("ATTRS = a{}\n", ".b".repeat(depth)));
    deep.push_str(&format!(
        "\n\ndef deep_exit():\n    try:\n        load()\n    except ImportError:\n        raise SystemExit({})\n",
        nest("(", "1", ")")
    ));
    let dir = tree(&[("deep.py", deep.as_bytes())]);
    let r = tame_in(dir.path(), &["fix", "."]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let out = String::from_utf8(read(dir.path(), "deep.py")).unwrap();
    // Every deep line survives as it was, and the seed's part is rewritten.
    for line in deep.lines().filter(|l| l.len() > depth) {
        assert!(out.contains(line), "a deep line changed");
    }
    assert!(out.contains("_attempts += 1") && out.contains("raise DriverLoadError("), "the seed's sites were fixed");
    assert_seed_fixed(dir.path());
}

#[test]
fn deep_nesting_inside_a_wait_loop_does_not_overflow() {
    let depth = 20_000;
    let src = format!(
        "import time\n\n\ndef wait(ready):\n    while True:\n        if {}ready(){}:\n            break\n        time.sleep(1)\n",
        "(".repeat(depth),
        ")".repeat(depth)
    );
    let dir = tree(&[("deep_loop.py", src.as_bytes())]);
    let r = tame_in(dir.path(), &["fix", "."]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let out = String::from_utf8(read(dir.path(), "deep_loop.py")).unwrap();
    assert!(out.contains(&format!("        if {}ready(){}:\n", "(".repeat(depth), ")".repeat(depth))));
    assert!(out.contains("    while _attempts < 100000 and time.monotonic() < _deadline:\n"), "the loop is bounded");
    assert_seed_fixed(dir.path());
}

#[test]
fn megabyte_lines_are_processed() {
    let mb = 1 << 20;
    let mut long = String::from_utf8(seed()).unwrap();
    long.push_str(&format!("\nSTRING = '{}'\n", "a".repeat(mb)));
    long.push_str(&format!("TOTAL = {}1\n", "1 + ".repeat(mb / 4)));
    long.push_str(&format!("# {}\n", "c".repeat(mb)));
    let mut wait = WAIT.replace("if ready():", &format!("if ready({}):", "0, ".repeat(mb / 3)));
    wait.push_str(&format!("# {}", "x".repeat(mb)));
    let dir = tree(&[("long.py", long.as_bytes()), ("long_wait.py", wait.as_bytes())]);
    let r = tame_in(dir.path(), &["fix", "."]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    // The rewrite follows the file's style (its long lines raise the line
    // limit), so long.py's head is not the lone seed's rewrite; its sites are
    // fixed and the long lines are kept byte for byte.
    let out = String::from_utf8(read(dir.path(), "long.py")).unwrap();
    assert!(out.ends_with(&long[seed().len()..]), "the long lines are untouched");
    assert!(out.contains("_attempts += 1") && out.contains("raise DriverLoadError("), "long.py's sites were fixed");
    // (CPython cannot compile a 260,000-term sum; tree-sitter checks it.)
    assert_eq!(error_regions(out.as_bytes()), 0);
    let out = String::from_utf8(read(dir.path(), "long_wait.py")).unwrap();
    assert!(out.contains("_attempts += 1"), "the loop with a 1 MB condition is bounded");
    assert!(out.ends_with(&format!("# {}", "x".repeat(mb))), "the last long line is kept, without a newline added");
    py_compile(&dir.path().join("long_wait.py")).unwrap();
    assert_seed_fixed(dir.path());
}

#[test]
fn unreadable_files_are_reported_and_the_run_goes_on() {
    let dir = tree(&[("unreadable.py", WAIT.as_bytes())]);
    let locked = dir.path().join("unreadable.py");
    chmod(&locked, 0o000);
    assert!(is_denied(&locked), "the file is unreadable to the tame under test");
    let r = tame_without_root_powers(dir.path(), &["fix", "."]);
    chmod(&locked, 0o644);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(r.stderr.contains("tame: unreadable.py: could not read: permission denied"), "{}", r.stderr);
    assert_eq!(read(dir.path(), "unreadable.py"), WAIT.as_bytes());
    assert_seed_fixed(dir.path());
}

#[test]
fn read_only_files_with_a_needed_change_are_reported_and_never_modified() {
    let dir = tree(&[("readonly.py", WAIT.as_bytes())]);
    let ro = dir.path().join("readonly.py");
    chmod(&ro, 0o444);
    // Not even root may write it: tame honours the mode bits itself.
    let r = tame_in(dir.path(), &["fix", "."]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(
        r.stderr.contains("tame: readonly.py: could not write: permission denied (the file is read-only)"),
        "{}",
        r.stderr
    );
    assert_eq!(read(dir.path(), "readonly.py"), WAIT.as_bytes());
    assert_eq!(mode(&ro), 0o444);
    assert!(r.stderr.contains("1 changed"), "only the seed is counted as changed: {}", r.stderr);
    assert_seed_fixed(dir.path());
    // --dry-run has nothing to write, so it shows the change and succeeds.
    let r = tame_in(dir.path(), &["fix", "--dry-run", "readonly.py"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stdout.contains("+++ b/readonly.py"), "{}", r.stdout);
    let no_temp_files =
        std::fs::read_dir(dir.path()).unwrap().all(|e| !e.unwrap().file_name().to_string_lossy().starts_with(".tame-"));
    assert!(no_temp_files, "no temporary file is left behind");
}

#[test]
fn directories_without_permission_are_reported_and_the_run_goes_on() {
    let dir = tree(&[("locked/inside.py", WAIT.as_bytes()), ("readonly_dir/inside.py", WAIT.as_bytes())]);
    let locked = dir.path().join("locked");
    let ro_dir = dir.path().join("readonly_dir");
    chmod(&locked, 0o000);
    chmod(&ro_dir, 0o555);
    assert!(is_denied(&locked), "the directory is unreadable to the tame under test");
    let r = tame_without_root_powers(dir.path(), &["fix", "."]);
    chmod(&locked, 0o755);
    chmod(&ro_dir, 0o755);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(r.stderr.contains("tame: locked: permission denied"), "{}", r.stderr);
    assert!(
        r.stderr.contains(
            "tame: readonly_dir/inside.py: could not write: permission denied (cannot create a file in its directory)"
        ),
        "{}",
        r.stderr
    );
    assert_eq!(read(dir.path(), "locked/inside.py"), WAIT.as_bytes());
    assert_eq!(read(dir.path(), "readonly_dir/inside.py"), WAIT.as_bytes());
    assert_seed_fixed(dir.path());
}

#[test]
fn symlink_loops_are_skipped_or_reported() {
    let dir = tree(&[("pkg/mod.py", WAIT.as_bytes())]);
    let d = dir.path();
    std::os::unix::fs::symlink("loop_b.py", d.join("loop_a.py")).unwrap();
    std::os::unix::fs::symlink("loop_a.py", d.join("loop_b.py")).unwrap();
    std::os::unix::fs::symlink("self.py", d.join("self.py")).unwrap();
    std::os::unix::fs::symlink("..", d.join("pkg/up")).unwrap();
    // Walking: links are never followed, so the loops cannot trap the walk.
    let r = tame_in(d, &["fix", "."]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stderr.contains("2 files scanned") && r.stderr.contains("4 symbolic links"), "{}", r.stderr);
    assert_seed_fixed(d);
    assert!(String::from_utf8(read(d, "pkg/mod.py")).unwrap().contains("_attempts += 1"));
    // Named on the command line: a clear error each, and the other files still run.
    let dir = tree(&[]);
    let d = dir.path();
    std::os::unix::fs::symlink("loop_b.py", d.join("loop_a.py")).unwrap();
    std::os::unix::fs::symlink("loop_a.py", d.join("loop_b.py")).unwrap();
    let r = tame_in(d, &["fix", "loop_a.py", "seed.py"]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(r.stderr.contains("tame: loop_a.py: symbolic link loop"), "{}", r.stderr);
    assert_seed_fixed(d);
}

#[test]
fn symlinks_to_files_outside_the_root_are_never_written_through() {
    let outside = tempfile::tempdir().unwrap();
    std::fs::write(outside.path().join("target.py"), seed()).unwrap();
    std::fs::create_dir(outside.path().join("pkg")).unwrap();
    std::fs::write(outside.path().join("pkg/mod.py"), WAIT).unwrap();
    let dir = tree(&[]);
    let d = dir.path();
    std::os::unix::fs::symlink(outside.path().join("target.py"), d.join("link.py")).unwrap();
    std::os::unix::fs::symlink(outside.path().join("pkg"), d.join("linked_pkg")).unwrap();
    std::os::unix::fs::symlink("seed.py", d.join("alias.py")).unwrap();
    let r = tame_in(d, &["fix", "."]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stderr.contains("1 file scanned") && r.stderr.contains("3 symbolic links"), "{}", r.stderr);
    assert_eq!(read(outside.path(), "target.py"), seed(), "never written through link.py");
    assert_eq!(read(outside.path(), "pkg/mod.py"), WAIT.as_bytes(), "never written through linked_pkg");
    for link in ["link.py", "linked_pkg", "alias.py"] {
        assert!(std::fs::symlink_metadata(d.join(link)).unwrap().file_type().is_symlink(), "{link} is still a link");
    }
    // The link inside the tree is skipped; its target is fixed once, under its own name.
    assert_seed_fixed(d);
    // Named explicitly, a link is an error, not a write through it.
    let r = tame_in(d, &["fix", "link.py", "alias.py"]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    for link in ["link.py", "alias.py"] {
        assert!(
            r.stderr.contains(&format!(
                "tame: {link}: is a symbolic link; tame does not write through links (pass the target instead)"
            )),
            "{}",
            r.stderr
        );
    }
    assert_eq!(read(outside.path(), "target.py"), seed());
}

#[test]
fn overlapping_roots_process_each_file_once() {
    let dir = tree(&[("pkg/mod.py", WAIT.as_bytes())]);
    let d = dir.path();
    std::os::unix::fs::symlink("pkg", d.join("alias")).unwrap();
    let r = tame_in(d, &["fix", ".", "pkg", "pkg/mod.py", "alias", "./seed.py"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stderr.contains("2 files scanned"), "{}", r.stderr);
    assert_seed_fixed(d);
    assert!(String::from_utf8(read(d, "pkg/mod.py")).unwrap().contains("_attempts += 1"));
}

#[test]
fn directory_roots_are_walked_once_each_whether_or_not_they_nest() {
    // Disjoint directories are processed as they are walked; nested ones
    // (`. pkg`, or the same one twice) are collected and deduplicated first.
    for roots in [&["pkg", "other"][..], &[".", "pkg"], &["pkg", "pkg", "other"]] {
        let dir = tree(&[("pkg/mod.py", WAIT.as_bytes()), ("other/more.py", WAIT.as_bytes())]);
        let d = dir.path();
        let mut args = vec!["fix"];
        args.extend_from_slice(roots);
        let r = tame_in(d, &args);
        assert_eq!(r.code, 0, "{roots:?}: {}", r.stderr);
        let scanned = if roots.contains(&".") { "3 files scanned" } else { "2 files scanned" };
        assert!(r.stderr.contains(scanned), "{roots:?}: {}", r.stderr);
        for f in ["pkg/mod.py", "other/more.py"] {
            let text = String::from_utf8(read(d, f)).unwrap();
            assert_eq!(text.matches("_attempts += 1").count(), 1, "{roots:?}: {f} fixed once:\n{text}");
        }
    }
}

#[test]
fn pep263_latin1_round_trips_and_unsupported_encodings_are_skipped() {
    let latin1 = b"# -*- coding: latin-1 -*-\nimport time\n\nGREETING = 'caf\xe9 cr\xe8me'\n\n\ndef attendre(pr\xeat):\n    while True:\n        if pr\xeat():\n            break\n        time.sleep(1)\n";
    let line2 = b"#!/usr/bin/env python\n# vim: set fileencoding=iso-8859-1 :\nimport time\nN = '\xb5'\nwhile True:\n    if N.strip():\n        break\n    time.sleep(1)\n";
    let cp1252 = b"# coding: cp1252\nimport time\nQUOTE = '\x93hi\x94'\nwhile True:\n    time.sleep(1)\n";
    let bad_utf8 = b"# coding: utf-8\nimport time\nX = '\xff'\nwhile True:\n    time.sleep(1)\n";
    let dir = tree(&[("latin1.py", latin1), ("line2.py", line2), ("cp1252.py", cp1252), ("bad_utf8.py", bad_utf8)]);
    let d = dir.path();
    let r = tame_in(d, &["fix", "."]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(
        r.stderr.contains("tame: cp1252.py: unsupported encoding 'cp1252' declared by a PEP 263 coding cookie (tame handles utf-8 and latin-1)"),
        "{}",
        r.stderr
    );
    let at = bad_utf8.iter().position(|b| !b.is_ascii()).unwrap();
    let message = format!("tame: bad_utf8.py: invalid utf-8 (byte {at}) although the coding cookie declares it");
    assert!(r.stderr.contains(&message), "{}", r.stderr);
    assert_eq!(read(d, "cp1252.py"), cp1252);
    assert_eq!(read(d, "bad_utf8.py"), bad_utf8);
    for (name, original) in [("latin1.py", &latin1[..]), ("line2.py", &line2[..])] {
        let out = read(d, name);
        assert_ne!(out, original, "{name} was rewritten");
        assert!(std::str::from_utf8(&out).is_err(), "{name} is still Latin-1, not re-encoded as UTF-8");
        // Every non-ASCII byte of the original is still there, in order.
        let high = |b: &[u8]| b.iter().copied().filter(|b| !b.is_ascii()).collect::<Vec<u8>>();
        assert_eq!(high(&out), high(original), "{name}");
        assert!(out.starts_with(&original[..original.iter().position(|&b| b == b'\n').unwrap() + 1]));
        py_compile(&d.join(name)).unwrap();
    }
    let text: String = read(d, "latin1.py").iter().map(|&b| b as char).collect();
    assert!(text.contains("def attendre(prêt):\n    _attempts, _deadline = 0, time.monotonic() + 3600.0\n"), "{text}");
    assert_seed_fixed(d);
}

#[test]
fn line_endings_tabs_and_missing_final_newlines_keep_their_form() {
    let crlf = WAIT.replace('\n', "\r\n");
    // Mostly LF, two CRLF lines: new lines are LF, the CRLF lines stay CRLF.
    let mixed = "import time\r\nX = 1\r\n\n\ndef wait(ready):\n    while True:\n        if ready():\n            break\n        time.sleep(1)\n";
    let tabs = WAIT.replace("    ", "\t");
    // One function indented with tabs, the other with two spaces.
    let mixed_indent =
        format!("{tabs}\n\ndef other(ready):\n  while True:\n    if ready():\n      break\n    time.sleep(2)\n");
    let no_eol = WAIT.trim_end();
    let dir = tree(&[
        ("crlf.py", crlf.as_bytes()),
        ("mixed.py", mixed.as_bytes()),
        ("tabs.py", tabs.as_bytes()),
        ("mixed_indent.py", mixed_indent.as_bytes()),
        ("no_eol.py", no_eol.as_bytes()),
        ("empty.py", b""),
        ("only_bom.py", b"\xEF\xBB\xBF"),
        ("only_comment.py", b"# while True: time.sleep(1)"),
        ("blank.py", b"\n\n  \n"),
    ]);
    let d = dir.path();
    let r = tame_in(d, &["fix", "."]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let text = |name: &str| String::from_utf8(read(d, name)).unwrap();

    let out = text("crlf.py");
    assert!(out.contains("_attempts += 1\r\n") && !out.replace("\r\n", "").contains('\n'), "{out:?}");
    let out = text("mixed.py");
    assert!(out.starts_with("import time\r\nX = 1\r\n\n\ndef wait(ready):\n"), "{out:?}");
    assert!(out.contains("        _attempts += 1\n") && out.matches("\r\n").count() == 2, "{out:?}");
    let out = text("tabs.py");
    assert!(out.contains("\t\t_attempts += 1\n") && !out.contains("    "), "{out:?}");
    let out = text("mixed_indent.py");
    assert!(out.contains("\t\t_attempts += 1\n"), "{out:?}");
    assert!(out.contains("def other(ready):\n  _attempts, _deadline"), "{out:?}");
    let out = text("no_eol.py");
    assert!(out.contains("_attempts += 1") && out.contains("time.sleep(max(0.0, min(1,"), "{out:?}");
    for name in ["crlf.py", "mixed.py", "tabs.py", "mixed_indent.py", "no_eol.py"] {
        py_compile(&d.join(name)).unwrap_or_else(|e| panic!("{name}: {e}"));
    }
    assert_eq!(read(d, "empty.py"), b"");
    assert_eq!(read(d, "only_bom.py"), b"\xEF\xBB\xBF");
    assert_eq!(read(d, "only_comment.py"), b"# while True: time.sleep(1)");
    assert_eq!(read(d, "blank.py"), b"\n\n  \n");
    assert_seed_fixed(d);
}

fn git(dir: &Path, args: &[&str]) {
    let ok = Command::new("git")
        .args(["-c", "user.email=t@t", "-c", "user.name=t"])
        .args(args)
        .current_dir(dir)
        .status()
        .unwrap()
        .success();
    assert!(ok, "git {args:?}");
}

#[test]
fn fix_refuses_files_with_uncommitted_changes_in_git() {
    let dir = tree(&[("clean.py", WAIT.as_bytes()), ("modified.py", WAIT.as_bytes()), ("staged.py", WAIT.as_bytes())]);
    let d = dir.path();
    git_init(d);
    let edit = |name: &str| {
        let mut s = WAIT.to_owned();
        s.push_str("# local edit\n");
        std::fs::write(d.join(name), s).unwrap();
    };
    edit("modified.py");
    edit("staged.py");
    git(d, &["add", "staged.py"]);
    std::fs::write(d.join("untracked.py"), WAIT).unwrap();
    let snapshot = |names: &[&str]| names.iter().map(|n| read(d, n)).collect::<Vec<_>>();
    let dirty = ["modified.py", "staged.py", "untracked.py"];
    let before = snapshot(&dirty);

    // check and --dry-run never refuse.
    let r = tame_in(d, &["check", "."]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    let r = tame_in(d, &["fix", "--dry-run", "."]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    for name in dirty {
        assert!(r.stdout.contains(&format!("+++ b/{name}")), "{}", r.stdout);
    }
    assert_seed_in_diff(&r.stdout);
    assert_eq!(snapshot(&dirty), before);

    let r = tame_in(d, &["fix", "."]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    for name in dirty {
        assert!(r.stderr.contains(&format!("tame: {name}: has uncommitted changes in git")), "{}", r.stderr);
    }
    assert!(r.stderr.contains("--allow-dirty"), "{}", r.stderr);
    assert_eq!(snapshot(&dirty), before, "dirty files are never written");
    assert!(String::from_utf8(read(d, "clean.py")).unwrap().contains("_attempts += 1"), "clean files are fixed");
    assert_seed_fixed(d);

    let r = tame_in(d, &["fix", "--allow-dirty", "."]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    for name in dirty {
        assert!(String::from_utf8(read(d, name)).unwrap().contains("_attempts += 1"), "{name}");
    }
    assert!(String::from_utf8(read(d, "modified.py")).unwrap().ends_with("# local edit\n"));
}

#[test]
fn files_outside_git_are_fixed_next_to_a_dirty_repo() {
    let dir = tree(&[("repo/a.py", WAIT.as_bytes()), ("plain/b.py", WAIT.as_bytes())]);
    let d = dir.path();
    git_init(&d.join("repo"));
    std::fs::write(d.join("repo/a.py"), format!("{WAIT}# edit\n")).unwrap();
    let r = tame_in(d, &["fix", "repo", "plain", "seed.py"]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(r.stderr.contains("tame: repo/a.py: has uncommitted changes in git"), "{}", r.stderr);
    assert!(!r.stderr.contains("plain/b.py"), "{}", r.stderr);
    assert!(String::from_utf8(read(d, "plain/b.py")).unwrap().contains("_attempts += 1"));
    assert_eq!(read(d, "repo/a.py"), format!("{WAIT}# edit\n").as_bytes());
    assert_seed_fixed(d);
}

/// A `git` that, on its first call, signals `ready` and waits for `go`, then
/// runs the real git. `tame fix` calls git (for the dirty-tree check) after
/// it has read and rewritten every file in memory and before it writes any,
/// which is the moment another program's edit must be caught.
fn gated_git(bin: &Path, gate: &Path) -> PathBuf {
    let real = String::from_utf8(Command::new("sh").args(["-c", "command -v git"]).output().unwrap().stdout)
        .unwrap()
        .trim()
        .to_owned();
    std::fs::create_dir_all(bin).unwrap();
    let script = format!(
        "#!/bin/sh\nif [ ! -e '{g}/ready' ]; then\n  touch '{g}/ready'\n  n=0\n  while [ ! -e '{g}/go' ] && [ $n -lt 6000 ]; do sleep 0.05; n=$((n+1)); done\nfi\nexec '{real}' \"$@\"\n",
        g = gate.display()
    );
    let git = bin.join("git");
    std::fs::write(&git, script).unwrap();
    chmod(&git, 0o755);
    bin.to_path_buf()
}

#[test]
fn files_changed_on_disk_during_a_run_are_not_written() {
    let dir = tree(&[("victim.py", WAIT.as_bytes())]);
    let d = dir.path();
    let aux = tempfile::tempdir().unwrap();
    let bin = gated_git(&aux.path().join("bin"), aux.path());
    let path = format!("{}:{}", bin.display(), std::env::var("PATH").unwrap_or_default());
    let child = tame(d)
        .args(["fix", "."])
        .env("PATH", path)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Wait (bounded) until tame has processed everything and asks git.
    let ready = aux.path().join("ready");
    for _ in 0..6000 {
        if ready.exists() {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    assert!(ready.exists(), "tame never called git before writing");
    let edited = format!("{WAIT}# edited by someone else meanwhile\n");
    std::fs::write(d.join("victim.py"), &edited).unwrap();
    std::fs::write(aux.path().join("go"), "").unwrap();
    let r = finished(child.wait_with_output().unwrap());
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(
        r.stderr.contains("tame: victim.py: changed on disk while tame was working; not written (run again)"),
        "{}",
        r.stderr
    );
    assert_eq!(read(d, "victim.py"), edited.as_bytes(), "the other program's edit is kept");
    assert_seed_fixed(d);
}
