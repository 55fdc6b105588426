//! File discovery: which Python files a run covers, in a deterministic order.
//!
//! Directories are walked in parallel with `ignore` (respecting `.gitignore`,
//! `.ignore` and skipping hidden entries). A directory entry is taken if it is
//! a `*.py` file, or an extensionless file whose shebang names python.
//! Symbolic links are not followed and not processed when found while
//! walking: tame never writes through a link (see the README). Paths given
//! explicitly are always processed if they are regular files.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use ignore::{WalkBuilder, WalkState};

/// A problem met while walking: reported, and the walk goes on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WalkError {
    pub path: PathBuf,
    pub message: String,
}

/// What the walk found.
#[derive(Debug, Default)]
pub struct Walked {
    pub files: Vec<PathBuf>,
    pub errors: Vec<WalkError>,
    /// Symbolic links seen and skipped.
    pub symlinks: usize,
}

pub fn collect(roots: &[PathBuf], threads: usize) -> Walked {
    let mut out = Walked::default();
    for root in roots {
        match std::fs::symlink_metadata(root) {
            Err(e) => out.errors.push(WalkError { path: root.clone(), message: describe_io(&e) }),
            Ok(meta) if meta.is_dir() => walk_dir(root, threads, &mut out),
            Ok(meta) if meta.file_type().is_symlink() => match std::fs::metadata(root) {
                Ok(m) if m.is_file() => out.errors.push(WalkError {
                    path: root.clone(),
                    message: "is a symbolic link; tame does not write through links (pass the target instead)".into(),
                }),
                Ok(m) if m.is_dir() => walk_dir(root, threads, &mut out),
                Ok(_) => out.errors.push(WalkError { path: root.clone(), message: "not a regular file".into() }),
                Err(e) => out.errors.push(WalkError { path: root.clone(), message: describe_io(&e) }),
            },
            Ok(meta) if meta.is_file() => out.files.push(root.clone()),
            Ok(_) => out.errors.push(WalkError { path: root.clone(), message: "not a regular file".into() }),
        }
    }
    out.files.sort();
    out.files.dedup();
    out.errors.sort_by(|a, b| a.path.cmp(&b.path));
    out
}

fn walk_dir(root: &Path, threads: usize, out: &mut Walked) {
    let files = Mutex::new(Vec::new());
    let errors = Mutex::new(Vec::new());
    let symlinks = std::sync::atomic::AtomicUsize::new(0);
    WalkBuilder::new(root).threads(threads).require_git(false).follow_links(false).build_parallel().run(|| {
        Box::new(|entry| {
            match entry {
                Err(e) => errors.lock().expect("no panics while locked").push(walk_error(root, &e)),
                Ok(entry) => {
                    let Some(ft) = entry.file_type() else { return WalkState::Continue };
                    if ft.is_symlink() {
                        symlinks.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    } else if ft.is_file() && is_python(entry.path()) {
                        files.lock().expect("no panics while locked").push(entry.into_path());
                    }
                }
            }
            WalkState::Continue
        })
    });
    out.files.extend(files.into_inner().expect("no panics while locked"));
    out.errors.extend(errors.into_inner().expect("no panics while locked"));
    out.symlinks += symlinks.into_inner();
}

fn walk_error(root: &Path, e: &ignore::Error) -> WalkError {
    let mut path = root.to_path_buf();
    let mut err = e;
    loop {
        match err {
            ignore::Error::WithPath { path: p, err: inner } => {
                path = p.clone();
                err = inner;
            }
            ignore::Error::WithDepth { err: inner, .. } | ignore::Error::WithLineNumber { err: inner, .. } => {
                err = inner
            }
            ignore::Error::Loop { child, .. } => {
                return WalkError { path: child.clone(), message: "symbolic link loop".into() };
            }
            ignore::Error::Io(io) => return WalkError { path, message: describe_io(io) },
            other => return WalkError { path, message: other.to_string() },
        }
    }
}

/// A short, stable description of an I/O error (no OS error numbers).
pub fn describe_io(e: &std::io::Error) -> String {
    match e.kind() {
        std::io::ErrorKind::NotFound => "no such file or directory".into(),
        std::io::ErrorKind::PermissionDenied => "permission denied".into(),
        _ => e.to_string(),
    }
}

fn is_python(path: &Path) -> bool {
    match path.extension() {
        Some(ext) => ext == "py",
        None => shebang_is_python(path),
    }
}

fn shebang_is_python(path: &Path) -> bool {
    let mut buf = [0u8; 128];
    let Ok(mut f) = std::fs::File::open(path) else { return false };
    let n = f.read(&mut buf).unwrap_or(0);
    let first = buf[..n].split(|&b| b == b'\n').next().unwrap_or(&[]);
    first.starts_with(b"#!") && memchr::memmem::find(first, b"python").is_some()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_python_files_in_order_and_respects_ignores() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        std::fs::create_dir_all(d.join("pkg/.hidden")).unwrap();
        std::fs::write(d.join("pkg/b.py"), "").unwrap();
        std::fs::write(d.join("pkg/a.py"), "").unwrap();
        std::fs::write(d.join("pkg/.hidden/c.py"), "").unwrap();
        std::fs::write(d.join("pkg/tool"), "#!/usr/bin/env python3\n").unwrap();
        std::fs::write(d.join("pkg/notes.txt"), "").unwrap();
        std::fs::write(d.join("pkg/gen.py"), "").unwrap();
        std::fs::write(d.join(".ignore"), "gen.py\n").unwrap();
        let w = collect(&[d.to_path_buf()], 2);
        let names: Vec<_> = w.files.iter().map(|p| p.strip_prefix(d).unwrap().to_string_lossy().into_owned()).collect();
        assert_eq!(names, ["pkg/a.py", "pkg/b.py", "pkg/tool"]);
        let missing = collect(&[d.join("nope")], 1);
        assert_eq!(missing.errors[0].message, "no such file or directory");
    }
}
