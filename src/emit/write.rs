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
    WriteError::Io(crate::app::walk::describe_io(&e))
}

/// Replaces `path`'s content `original` with `new`, atomically.
///
/// The file's permission bits (and, where the OS allows it, its owner and
/// group) are kept. `path` must still be the regular file tame read: if it
/// has become a symbolic link it is not written, so a write can never go
/// through a link.
pub fn write_atomic(path: &Path, original: &[u8], new: &[u8]) -> Result<(), WriteError> {
    use std::os::unix::fs::MetadataExt;
    let dir = path.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new("."));
    let meta = std::fs::symlink_metadata(path).map_err(io)?;
    if meta.file_type().is_symlink() {
        return Err(WriteError::Io("is now a symbolic link; tame does not write through links".into()));
    }
    if !meta.is_file() {
        return Err(WriteError::Io("is no longer a regular file".into()));
    }
    if meta.permissions().readonly() {
        return Err(WriteError::Io("permission denied (the file is read-only)".into()));
    }
    let mut tmp = tempfile::Builder::new().prefix(".tame-").suffix(".tmp").tempfile_in(dir).map_err(|e| {
        if e.kind() == std::io::ErrorKind::PermissionDenied {
            WriteError::Io("permission denied (cannot create a file in its directory)".into())
        } else {
            io(e)
        }
    })?;
    tmp.write_all(new).map_err(io)?;
    // Best effort: as root, keep the owner; as a user, keep the group if we may.
    let _ = std::os::unix::fs::fchown(tmp.as_file(), Some(meta.uid()), Some(meta.gid()));
    std::fs::set_permissions(tmp.path(), meta.permissions()).map_err(io)?;
    tmp.as_file().sync_all().map_err(io)?;
    if std::fs::read(path).map_err(io)? != original {
        return Err(WriteError::Concurrent);
    }
    tmp.persist(path).map_err(|e| io(e.error))?;
    // Make the rename itself durable; a failure here leaves a correct file.
    if let Ok(d) = std::fs::File::open(dir) {
        let _ = d.sync_all();
    }
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

    #[test]
    fn never_writes_through_a_link_or_into_a_read_only_file() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("target.py");
        let link = dir.path().join("link.py");
        std::fs::write(&target, "old\n").unwrap();
        std::os::unix::fs::symlink(&target, &link).unwrap();
        let err = write_atomic(&link, b"old\n", b"new\n").unwrap_err();
        assert!(err.to_string().contains("symbolic link"), "{err}");
        assert!(std::fs::symlink_metadata(&link).unwrap().file_type().is_symlink());
        assert_eq!(std::fs::read(&target).unwrap(), b"old\n");
        std::fs::set_permissions(&target, std::fs::Permissions::from_mode(0o444)).unwrap();
        let err = write_atomic(&target, b"old\n", b"new\n").unwrap_err();
        assert_eq!(err.to_string(), "could not write: permission denied (the file is read-only)");
        assert_eq!(std::fs::read(&target).unwrap(), b"old\n");
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 2, "no temporary file is left behind");
    }
}
