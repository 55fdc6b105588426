//! Writing files in place, safely.
//!
//! - Atomic: the new content goes to a temporary file in the same directory,
//!   is flushed to disk, gets the original's permission bits, and is renamed
//!   over the original. A crash leaves either the old or the new file.
//! - Concurrent edits: just before the rename the file is read again; if it
//!   changed since tame read it, nothing is written and the file is reported.
//! - Dirty trees: in a git work tree, files with uncommitted changes are not
//!   written unless `--allow-dirty` is given (see [`dirty_files`]).

use std::collections::{BTreeSet, HashMap};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;

use thiserror::Error;

#[derive(Debug, Error)]
pub enum WriteError {
    #[error("changed on disk while tame was working; not written (run again)")]
    Concurrent,
    #[error("could not write: {0}")]
    Io(String),
}

fn io(e: std::io::Error) -> WriteError {
    WriteError::Io(crate::walk::describe_io(&e))
}

/// Replaces `path`'s content `original` with `new`, atomically.
pub fn write_atomic(path: &Path, original: &[u8], new: &[u8]) -> Result<(), WriteError> {
    let dir = path.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new("."));
    let meta = std::fs::metadata(path).map_err(io)?;
    if meta.permissions().readonly() {
        return Err(WriteError::Io("permission denied (the file is read-only)".into()));
    }
    let mut tmp = tempfile::Builder::new().prefix(".tame-").suffix(".tmp").tempfile_in(dir).map_err(io)?;
    tmp.write_all(new).map_err(io)?;
    tmp.as_file().sync_all().map_err(io)?;
    std::fs::set_permissions(tmp.path(), meta.permissions()).map_err(io)?;
    if std::fs::read(path).map_err(io)? != original {
        return Err(WriteError::Concurrent);
    }
    tmp.persist(path).map_err(|e| io(e.error))?;
    Ok(())
}

/// The files among `paths` that git reports as modified, staged, or untracked
/// (git could not restore them). Files outside any git work tree, or when
/// git is not installed, are never dirty.
pub fn dirty_files(paths: &[PathBuf]) -> BTreeSet<PathBuf> {
    let mut by_repo: HashMap<PathBuf, Vec<PathBuf>> = HashMap::new();
    let mut toplevels: HashMap<PathBuf, Option<PathBuf>> = HashMap::new();
    for p in paths {
        let Ok(abs) = std::path::absolute(p) else { continue };
        let dir = abs.parent().unwrap_or(Path::new("/")).to_path_buf();
        let top = toplevels.entry(dir.clone()).or_insert_with(|| git_toplevel(&dir)).clone();
        if let Some(top) = top {
            by_repo.entry(top).or_default().push(p.clone());
        }
    }
    let mut dirty = BTreeSet::new();
    for (top, files) in by_repo {
        let mut cmd = Command::new("git");
        cmd.arg("-C").arg(&top).args(["status", "--porcelain", "-z", "--untracked-files=all", "--"]);
        for f in &files {
            cmd.arg(std::path::absolute(f).unwrap_or_else(|_| f.clone()));
        }
        let Ok(out) = cmd.output() else { continue };
        if !out.status.success() {
            continue;
        }
        let reported: BTreeSet<PathBuf> = out
            .stdout
            .split(|&b| b == 0)
            .filter(|e| e.len() > 3)
            .map(|e| top.join(String::from_utf8_lossy(&e[3..]).as_ref()))
            .filter_map(|p| p.canonicalize().ok())
            .collect();
        for f in files {
            if f.canonicalize().is_ok_and(|c| reported.contains(&c)) {
                dirty.insert(f);
            }
        }
    }
    dirty
}

fn git_toplevel(dir: &Path) -> Option<PathBuf> {
    let out = Command::new("git").arg("-C").arg(dir).args(["rev-parse", "--show-toplevel"]).output().ok()?;
    if !out.status.success() {
        return None;
    }
    let s = String::from_utf8(out.stdout).ok()?;
    Some(PathBuf::from(s.trim_end_matches(['\n', '\r'])))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn atomic_write_keeps_permissions_and_detects_changes() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("m.py");
        std::fs::write(&p, "old\n").unwrap();
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o750)).unwrap();
        write_atomic(&p, b"old\n", b"new\n").unwrap();
        assert_eq!(std::fs::read(&p).unwrap(), b"new\n");
        assert_eq!(std::fs::metadata(&p).unwrap().permissions().mode() & 0o777, 0o750);
        assert!(matches!(write_atomic(&p, b"old\n", b"newer\n"), Err(WriteError::Concurrent)));
        assert_eq!(std::fs::read(&p).unwrap(), b"new\n");
        let leftovers = std::fs::read_dir(dir.path()).unwrap().count();
        assert_eq!(leftovers, 1, "no temporary file is left behind");
    }
}
