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
    out.files.sort_unstable_by(|a, b| a.as_os_str().cmp(b.as_os_str()));
    out.files.dedup();
    if roots.len() > 1 || roots.iter().any(|r| r.is_symlink()) {
        dedup_aliases(&mut out.files);
    }
    out.errors.sort_by(|a, b| a.path.cmp(&b.path));
    out
}

/// Keeps one path per file when roots overlap (`tame fix . pkg`, or a root
/// that is a link to a directory also walked): processing a file twice
/// would make the second write see the first one's change. Paths are
/// compared by their canonical form, so hard links (distinct paths to one
/// inode) are all kept: each is its own file to git. Of several aliases the
/// one that goes through no symbolic link is kept, else the first.
fn dedup_aliases(files: &mut Vec<PathBuf>) {
    let mut chosen: std::collections::HashMap<PathBuf, (usize, bool)> = std::collections::HashMap::new();
    let mut keep = vec![true; files.len()];
    for (i, p) in files.iter().enumerate() {
        let Ok(canonical) = p.canonicalize() else { continue };
        let direct = std::path::absolute(p).is_ok_and(|a| a == canonical);
        match chosen.get_mut(&canonical) {
            None => {
                chosen.insert(canonical, (i, direct));
            }
            Some((j, j_direct)) => {
                if direct && !*j_direct {
                    keep[*j] = false;
                    *j = i;
                    *j_direct = true;
                } else {
                    keep[i] = false;
                }
            }
        }
    }
    let mut i = 0;
    files.retain(|_| {
        i += 1;
        keep[i - 1]
    });
}

fn walk_dir(root: &Path, threads: usize, out: &mut Walked) {
    let files = Mutex::new(Vec::new());
    let walked = stream(root, threads, &|path| files.lock().expect("no panics while locked").push(path));
    out.files.extend(files.into_inner().expect("no panics while locked"));
    out.errors.extend(walked.errors);
    out.symlinks += walked.symlinks;
}

/// Walks the directory `root`, calling `on_file` with each Python file from
/// the walker's own threads, as it is found, so that work on the files
/// overlaps the walk. Returns the errors and links met (`files` stays empty).
pub fn stream(root: &Path, threads: usize, on_file: &(dyn Fn(PathBuf) + Sync)) -> Walked {
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
                        on_file(entry.into_path());
                    }
                }
            }
            WalkState::Continue
        })
    });
    let mut errors = errors.into_inner().expect("no panics while locked");
    errors.sort_by(|a, b| a.path.cmp(&b.path));
    Walked { files: Vec::new(), errors, symlinks: symlinks.into_inner() }
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
    use std::io::ErrorKind as K;
    // ELOOP (`ErrorKind::FilesystemLoop` is not stable yet).
    const ELOOP: i32 = if cfg!(any(target_os = "linux", target_os = "android")) { 40 } else { 62 };
    if e.raw_os_error() == Some(ELOOP) {
        return "symbolic link loop".into();
    }
    match e.kind() {
        K::NotFound => "no such file or directory".into(),
        K::PermissionDenied => "permission denied".into(),
        K::IsADirectory => "is a directory".into(),
        K::NotADirectory => "a path component is not a directory".into(),
        K::ReadOnlyFilesystem => "read-only file system".into(),
        K::StorageFull => "no space left on device".into(),
        K::InvalidFilename => "file name too long".into(),
        _ => {
            // `Display` appends " (os error N)"; the number is noise to users.
            let s = e.to_string();
            match s.rfind(" (os error ") {
                Some(i) if s.ends_with(')') => s[..i].to_owned(),
                _ => s,
            }
        }
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

    #[test]
    fn overlapping_roots_yield_each_file_once() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        std::fs::create_dir_all(d.join("pkg")).unwrap();
        std::fs::write(d.join("pkg/a.py"), "").unwrap();
        std::fs::hard_link(d.join("pkg/a.py"), d.join("pkg/b.py")).unwrap();
        std::os::unix::fs::symlink(d.join("pkg"), d.join("alias")).unwrap();
        let w = collect(&[d.to_path_buf(), d.join("pkg"), d.join("alias"), d.join("pkg/a.py")], 2);
        let names: Vec<_> = w.files.iter().map(|p| p.strip_prefix(d).unwrap().to_string_lossy().into_owned()).collect();
        // The walk of `d` skips the link `alias`; the explicit roots repeat pkg's files.
        assert_eq!(names, ["pkg/a.py", "pkg/b.py"], "hard links are distinct files, aliases are not");
    }

    #[test]
    fn io_errors_are_described_without_os_numbers() {
        let dir = tempfile::tempdir().unwrap();
        let a = dir.path().join("a");
        let b = dir.path().join("b");
        std::os::unix::fs::symlink(&b, &a).unwrap();
        std::os::unix::fs::symlink(&a, &b).unwrap();
        let w = collect(std::slice::from_ref(&a), 1);
        assert_eq!(w.errors.len(), 1);
        assert_eq!(w.errors[0].message, "symbolic link loop");
        let other = std::io::Error::from_raw_os_error(5);
        assert!(!describe_io(&other).contains("os error"), "{}", describe_io(&other));
    }
}
