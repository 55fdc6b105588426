//! The line length a project's lint gate enforces, so every line tame
//! writes fits it: the nearest configuration at or above each file.
//!
//! In each directory, from the file's own upwards, the first of these that
//! sets a limit wins: flake8's `max-line-length` (`[flake8]`,
//! `[pycodestyle]` or `[pep8]` in `tox.ini`, `setup.cfg` or `.flake8`), then
//! `line-length` in `ruff.toml`/`.ruff.toml`, then `[tool.ruff]` or
//! `[tool.black]` `line-length` in `pyproject.toml`. With none, PEP 8's 79.
//! tame's own `line-length` setting (or `--line-length`) overrides them all
//! (see `crate::app::config`).
//!
//! Every file asks, so answers are cached per directory: a tree of ten
//! thousand files in a few hundred directories reads each configuration
//! file once.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// PEP 8's limit, when nothing says otherwise.
pub(crate) const DEFAULT: usize = 79;

/// The limit for a file at `path`, from one cache shared by the whole run.
pub(crate) fn for_file(path: &Path) -> usize {
    static SHARED: std::sync::OnceLock<LineLengths> = std::sync::OnceLock::new();
    SHARED.get_or_init(LineLengths::default).for_file(path)
}

/// Per-directory answers: the limit configured at or above it, if any.
#[derive(Default)]
pub(crate) struct LineLengths {
    /// By absolute directory.
    known: Mutex<HashMap<PathBuf, Option<usize>>>,
    /// By the parent a file's path names, as the walk spelled it: every
    /// file asks, so the common case is one lookup, no path made absolute.
    by_parent: Mutex<HashMap<PathBuf, Option<usize>>>,
}

impl LineLengths {
    /// The limit for a file at `path`.
    pub(crate) fn for_file(&self, path: &Path) -> usize {
        let parent = path.parent().unwrap_or(Path::new(""));
        if let Some(known) = self.by_parent.lock().expect("no panics while locked").get(parent) {
            return known.unwrap_or(DEFAULT);
        }
        let abs = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
        let found = abs.parent().and_then(|d| self.for_dir(d));
        self.by_parent.lock().expect("no panics while locked").insert(parent.to_path_buf(), found);
        found.unwrap_or(DEFAULT)
    }

    fn for_dir(&self, dir: &Path) -> Option<usize> {
        if let Some(known) = self.known.lock().expect("no panics while locked").get(dir) {
            return *known;
        }
        let found = configured_in(dir).or_else(|| dir.parent().and_then(|p| self.for_dir(p)));
        self.known.lock().expect("no panics while locked").insert(dir.to_path_buf(), found);
        found
    }
}

/// The limit set by a configuration file in `dir` itself.
fn configured_in(dir: &Path) -> Option<usize> {
    for name in ["tox.ini", "setup.cfg", ".flake8"] {
        if let Ok(text) = std::fs::read_to_string(dir.join(name))
            && let Some(n) = flake8_limit(&text)
        {
            return Some(n);
        }
    }
    for name in ["ruff.toml", ".ruff.toml"] {
        if let Ok(text) = std::fs::read_to_string(dir.join(name))
            && let Ok(doc) = toml::from_str::<toml::Table>(&text)
            && let Some(n) = doc.get("line-length").and_then(as_limit)
        {
            return Some(n);
        }
    }
    let text = std::fs::read_to_string(dir.join("pyproject.toml")).ok()?;
    let doc = toml::from_str::<toml::Table>(&text).ok()?;
    let tool = doc.get("tool")?;
    ["ruff", "black"].iter().find_map(|t| tool.get(t)?.get("line-length").and_then(as_limit))
}

fn as_limit(v: &toml::Value) -> Option<usize> {
    v.as_integer().and_then(|n| usize::try_from(n).ok()).filter(|n| *n > 0)
}

/// `max-line-length` (or `max_line_length`) in a `[flake8]`,
/// `[pycodestyle]` or `[pep8]` section of an INI file.
fn flake8_limit(ini: &str) -> Option<usize> {
    let mut in_section = false;
    for line in ini.lines() {
        let line = line.trim();
        if line.starts_with('[') {
            let name = line.trim_start_matches('[').trim_end_matches(']').trim();
            in_section = matches!(name, "flake8" | "pycodestyle" | "pep8");
            continue;
        }
        if !in_section || line.starts_with(['#', ';']) {
            continue;
        }
        let Some((key, value)) = line.split_once(['=', ':']) else { continue };
        if matches!(key.trim(), "max-line-length" | "max_line_length") {
            let digits: String = value.trim().chars().take_while(char::is_ascii_digit).collect();
            return digits.parse().ok().filter(|n| *n > 0);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flake8_sections_and_spellings() {
        assert_eq!(flake8_limit("[flake8]\nmax-line-length = 120\n"), Some(120));
        assert_eq!(flake8_limit("[metadata]\nname = x\n\n[pycodestyle]\nmax_line_length: 99  # wide\n"), Some(99));
        assert_eq!(flake8_limit("[tox]\nmax-line-length = 100\n[flake8]\nignore = E1\n"), None);
        assert_eq!(flake8_limit("[flake8]\n# max-line-length = 100\n"), None);
    }

    #[test]
    fn the_nearest_configuration_wins_and_79_is_the_default() {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path();
        std::fs::create_dir_all(root.join("pkg/sub")).unwrap();
        std::fs::create_dir_all(root.join("other")).unwrap();
        std::fs::write(root.join("tox.ini"), "[flake8]\nmax-line-length = 120\n").unwrap();
        std::fs::write(root.join("pkg/pyproject.toml"), "[tool.black]\nline-length = 88\n").unwrap();
        std::fs::write(root.join("pkg/sub/setup.cfg"), "[metadata]\nname = x\n").unwrap();
        let lengths = LineLengths::default();
        assert_eq!(lengths.for_file(&root.join("pkg/sub/a.py")), 88, "setup.cfg without a limit is passed over");
        assert_eq!(lengths.for_file(&root.join("pkg/a.py")), 88);
        assert_eq!(lengths.for_file(&root.join("other/a.py")), 120);
        std::fs::write(root.join("other/ruff.toml"), "line-length = 100\n").unwrap();
        assert_eq!(LineLengths::default().for_file(&root.join("other/a.py")), 100);
        let bare = tempfile::tempdir().unwrap();
        // Above a temporary directory there may be anything; only a bare
        // tree's default is checked where nothing above configures one.
        if configured_in(Path::new("/")).is_none() && configured_in(&std::env::temp_dir()).is_none() {
            assert_eq!(LineLengths::default().for_file(&bare.path().join("a.py")), DEFAULT);
        }
    }
}
