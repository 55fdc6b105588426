//! One `DriverLoadError` per project: when the loaders of several modules
//! are rewritten in one run, they must all raise the same class, defined
//! once, in a module every one of them can import without an import cycle.
//!
//! Transforms run one file at a time; the runner (`app::runner`) collects
//! the modules whose rewrite would define the class and asks [`find_home`]
//! where the one definition goes. A home is an exceptions module
//! (`exceptions.py`, `exception.py`, `errors.py`) of a package that holds
//! every one of those modules (the nearest such package first) and that
//! imports nothing from the top-level package (no `from pkg ...`,
//! `import pkg...`, relative import, `importlib`/`__import__`). Importing it
//! then runs only its own body and the `__init__` of packages every
//! rewritten module's import has already entered, so it cannot close a cycle.
//! A home that already defines the class at top level is reused as is.

use std::path::{Component, Path, PathBuf};

use regex::Regex;

/// Exceptions modules, most specific spelling first.
const HOME_NAMES: &[&str] = &["exceptions.py", "exception.py", "errors.py"];

/// Where the one definition of the exception goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Home {
    pub path: PathBuf,
    /// Its dotted module name (`pkg.exceptions`).
    pub module: String,
    /// Whether it already defines the class at top level.
    pub defines: bool,
}

/// The package directories holding `file`, innermost first, up to the
/// top-level package (a directory with an `__init__.py`).
fn packages(file: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut dir = file.parent().map(Path::to_path_buf);
    while let Some(d) = dir {
        let d = if d.as_os_str().is_empty() { PathBuf::from(".") } else { d };
        if !d.join("__init__.py").is_file() {
            break;
        }
        let parent = d.parent().map(Path::to_path_buf);
        out.push(d.clone());
        match parent {
            // `a/b` -> `a` -> `` (the current directory, shown as `.`).
            Some(p) if d != Path::new(".") => dir = Some(p),
            _ => break,
        }
    }
    out
}

/// The directory of the top-level package holding `file`, if any.
pub fn top_package(file: &Path) -> Option<PathBuf> {
    packages(&std::path::absolute(file).ok()?).pop()
}

/// The dotted module name of `file` in its top-level package, and the
/// top-level package's name. `None` outside a package.
pub fn module_name(file: &Path) -> Option<(String, String)> {
    let file = std::path::absolute(file).ok()?;
    let pkgs = packages(&file);
    let top = pkgs.last()?;
    let base = top.parent()?;
    let rel = file.strip_prefix(base).ok()?;
    let mut parts: Vec<String> = rel
        .components()
        .map(|c| match c {
            Component::Normal(s) => s.to_str().map(str::to_owned),
            _ => None,
        })
        .collect::<Option<_>>()?;
    let last = parts.pop()?;
    let stem = last.strip_suffix(".py")?;
    if stem != "__init__" {
        parts.push(stem.to_owned());
    }
    let ident = |p: &String| {
        !p.is_empty()
            && p.chars().all(|c| c.is_alphanumeric() || c == '_')
            && !p.starts_with(|c: char| c.is_ascii_digit())
    };
    if parts.is_empty() || !parts.iter().all(ident) {
        return None;
    }
    Some((parts.join("."), parts[0].clone()))
}

/// Whether an exceptions module's text may import something of package `top`.
fn imports_package(text: &str, top: &str) -> bool {
    let t = regex::escape(top);
    let re = Regex::new(&format!(
        r"(?m)^[ \t]*(from[ \t]+\.|from[ \t]+{t}\b|import[ \t][^#\r\n]*\b{t}\b)|__import__|import_module"
    ))
    .expect("a valid regex");
    re.is_match(text)
}

/// Whether `text` defines `class name` at top level; `None` when it spells
/// `name` otherwise too (then it is not a home: the name is taken).
fn defines_class(text: &str, name: &str) -> Option<bool> {
    let n = regex::escape(name);
    let class = Regex::new(&format!(r"(?m)^class[ \t]+{n}\b")).expect("a valid regex");
    let word = Regex::new(&format!(r"\b{n}\b")).expect("a valid regex");
    let defs = class.find_iter(text).count();
    let spelled = word.find_iter(text).count();
    match defs {
        0 if spelled == 0 => Some(false),
        // Defined once; its docstring or `__all__` may spell it again.
        1 => Some(true),
        _ => None,
    }
}

/// The home of exception `name` for the modules `files` (the ones whose
/// rewrite would define it), within `roots` (a home outside the scanned tree
/// is never written). `Err` says why there is none.
pub fn find_home(files: &[PathBuf], name: &str, roots: &[PathBuf]) -> Result<Home, String> {
    let mut common: Option<Vec<PathBuf>> = None;
    let mut top_name: Option<String> = None;
    for f in files {
        let abs = std::path::absolute(f).map_err(|e| e.to_string())?;
        let Some((_, top)) = module_name(&abs) else {
            return Err(format!("`{}` is not in a package", crate::display_path(f)));
        };
        if top_name.get_or_insert_with(|| top.clone()) != &top {
            return Err("the modules are in different top-level packages".into());
        }
        let pkgs = packages(&abs);
        common = Some(match common {
            None => pkgs,
            Some(c) => c.into_iter().filter(|p| pkgs.contains(p)).collect(),
        });
    }
    let (Some(common), Some(top)) = (common, top_name) else { return Err("no module".into()) };
    let roots: Vec<PathBuf> = roots.iter().filter_map(|r| std::path::absolute(r).ok()).collect();
    for pkg in &common {
        for home in HOME_NAMES {
            let path = pkg.join(home);
            if !roots.iter().any(|r| path.starts_with(r)) {
                continue;
            }
            let Ok(text) = std::fs::read_to_string(&path) else { continue };
            if imports_package(&text, &top) {
                continue;
            }
            let Some(defines) = defines_class(&text, name) else { continue };
            let Some((module, _)) = module_name(&path) else { continue };
            return Ok(Home { path, module, defines });
        }
    }
    Err(format!(
        "no exceptions module ({}) that imports nothing from package `{top}` was found in a package holding all of them",
        HOME_NAMES.join(", ")
    ))
}

/// The text appended to the home module to define the class: two blank
/// lines, the class (the same as a module's own generated definition).
pub fn definition(text: &str, name: &str, base: &str, indent: &str, eol: &str) -> String {
    let q = if text.contains("\"\"\"") || !text.contains("'''") { '"' } else { '\'' };
    let mut out = String::new();
    let trimmed = text.trim_end_matches(['\n', '\r', ' ', '\t']);
    if !trimmed.is_empty() {
        // Make the file end with exactly one line ending, then two blank lines.
        if !text.ends_with('\n') && !text.ends_with('\r') {
            out.push_str(eol);
        }
        out.push_str(eol);
        out.push_str(eol);
    }
    out.push_str(&format!(
        "class {name}({base}):{eol}{indent}{q}{q}{q}A driver could not be loaded (raised instead of exiting the \
         process).{q}{q}{q}{eol}"
    ));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn homes_import_nothing_of_the_package() {
        assert!(imports_package("from . import x\n", "pkg"));
        assert!(imports_package("from pkg.a import b\n", "pkg"));
        assert!(imports_package("import os, pkg.a\n", "pkg"));
        assert!(imports_package("x = importlib.import_module('pkg.a')\n", "pkg"));
        assert!(!imports_package("from pkgs import a\nimport os\n# from pkg import x\n", "pkg"));
    }

    #[test]
    fn an_existing_class_is_reused_and_other_uses_of_the_name_rule_a_home_out() {
        assert_eq!(defines_class("class Other(Exception):\n    pass\n", "DriverLoadError"), Some(false));
        assert_eq!(defines_class("class DriverLoadError(Exception):\n    pass\n", "DriverLoadError"), Some(true));
        assert_eq!(defines_class("DriverLoadError = RuntimeError\n", "DriverLoadError"), None);
    }

    #[test]
    fn a_package_tree_gets_one_home() {
        let tmp = std::env::temp_dir().join(format!("tame-home-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&tmp);
        for (path, text) in [
            ("proj/pkg/__init__.py", ""),
            ("proj/pkg/exceptions.py", "import os\n\n\nclass Base(Exception):\n    pass\n"),
            ("proj/pkg/a/__init__.py", ""),
            ("proj/pkg/a/exceptions.py", "from pkg import common\n"),
            ("proj/pkg/a/x.py", ""),
            ("proj/pkg/b/__init__.py", ""),
            ("proj/pkg/b/y.py", ""),
            ("proj/script.py", ""),
        ] {
            let p = tmp.join(path);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(p, text).unwrap();
        }
        let files = [tmp.join("proj/pkg/a/x.py"), tmp.join("proj/pkg/b/y.py")];
        let roots = [tmp.join("proj")];
        let home = find_home(&files, "DriverLoadError", &roots).unwrap();
        // `pkg/a/exceptions.py` imports the package; `pkg/exceptions.py` holds both.
        assert_eq!(home.module, "pkg.exceptions");
        assert!(!home.defines);
        // Outside the scanned roots: never written.
        assert!(find_home(&files, "DriverLoadError", &[tmp.join("proj/pkg/a")]).is_err());
        assert!(find_home(&[tmp.join("proj/script.py"), files[0].clone()], "DriverLoadError", &roots).is_err());
        let _ = std::fs::remove_dir_all(&tmp);
    }

    #[test]
    fn the_definition_follows_two_blank_lines() {
        assert_eq!(
            definition("import os\n", "E", "Exception", "    ", "\n"),
            "\n\nclass E(Exception):\n    \"\"\"A driver could not be loaded (raised instead of exiting the process).\"\"\"\n"
        );
        assert!(definition("x = 1", "E", "Exception", "\t", "\r\n").starts_with("\r\n\r\n\r\nclass E"));
        assert!(definition("", "E", "Exception", "    ", "\n").starts_with("class E"));
    }
}
