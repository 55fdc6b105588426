//! The transform registry and the vocabulary transforms speak.
//!
//! A transform is a spec file in `transforms/` (id, docs, options, query,
//! prefilter literals), embedded in the binary, plus one Rust module that
//! analyses the query's matches and builds [`Fix`]es. Adding a transform
//! means adding both and one line to [`REGISTRY`].

pub mod bounded_retry;
mod ctx;
pub mod driver_load_error;
pub mod hints;
pub mod monotonic_deadline;
mod queries;
pub mod spec;

use std::ops::Range;
use std::sync::OnceLock;

use thiserror::Error;
use tree_sitter::Node;

pub use ctx::{Assignment, Ctx};
pub use spec::{OptionKind, OptionSpec, OptionValues, Spec, SpecError};

use crate::pipeline::edits::Fix;

/// An option value that does not fit the transform.
#[derive(Debug, Error)]
#[error("option `{transform}.{option}`: {problem}")]
pub struct OptionError {
    pub transform: String,
    pub option: String,
    pub problem: String,
}

/// A configured transform, ready to run on files.
pub trait Transform: Send + Sync {
    fn spec(&self) -> &'static Spec;
    /// Appends the sites (and the candidates left alone) found in one file.
    fn run(&self, ctx: &Ctx<'_>, out: &mut Vec<Finding>);

    /// After a partial parse (see `crate::partial`): whether these findings
    /// could depend on the blanked text, so the file must be parsed whole.
    /// `mentioned(word, within)` tells whether a blanked body starting inside
    /// the byte range `within` spells `word` (as a whole word).
    fn needs_whole_file(
        &self,
        _ctx: &Ctx<'_>,
        _findings: &[Finding],
        _mentioned: &dyn Fn(&str, std::ops::Range<usize>) -> bool,
    ) -> bool {
        false
    }

    /// After a partial parse, when the whole file is not needed: the byte
    /// ranges whose top-level statements these findings need parsed whole
    /// (a class with all its members, rather than only those matching the
    /// block regexes). The file is then parsed again, partially, with those
    /// statements kept whole; empty: the partial parse was enough.
    fn blocks_needed(
        &self,
        _ctx: &Ctx<'_>,
        _findings: &[Finding],
        _mentioned: &dyn Fn(&str, std::ops::Range<usize>) -> bool,
    ) -> Vec<std::ops::Range<usize>> {
        Vec::new()
    }

    /// For a file's text (raw bytes): a regex that every definition (a
    /// `def`, `async def` or `class` statement, or a decorator; top-level or
    /// a class member) holding one of this transform's *sites* matches
    /// somewhere in its text, or `None` if there is none for this file. When
    /// the candidates left alone are not shown, partial parsing blanks the
    /// definitions that match the block regexes but not this one (see
    /// `engine::Options::skipped`). It must never miss: a definition it
    /// rules out may hold candidates left alone, never a site.
    fn site_context(&self, _text: &[u8]) -> Option<&regex::bytes::Regex> {
        None
    }
}

pub type Factory = fn(&'static Spec, &OptionValues) -> Result<Box<dyn Transform>, OptionError>;

/// A built-in transform: its spec file, its constructor, and the query
/// captures its analysis reads (the spec load checks the query defines them).
pub struct Entry {
    pub file: &'static str,
    pub toml: &'static str,
    pub build: Factory,
    pub captures: &'static [&'static str],
}

/// Every built-in transform.
pub const REGISTRY: &[Entry] = &[
    Entry {
        file: "transforms/bounded-retry.toml",
        toml: include_str!("../../transforms/bounded-retry.toml"),
        build: bounded_retry::build,
        captures: bounded_retry::CAPTURES,
    },
    Entry {
        file: "transforms/driver-load-error.toml",
        toml: include_str!("../../transforms/driver-load-error.toml"),
        build: driver_load_error::build,
        captures: driver_load_error::CAPTURES,
    },
    Entry {
        file: "transforms/monotonic-deadline.toml",
        toml: include_str!("../../transforms/monotonic-deadline.toml"),
        build: monotonic_deadline::build,
        captures: monotonic_deadline::CAPTURES,
    },
];

/// The validated specs, in registry order, their queries compiled on first
/// use. Panics only if an embedded spec is invalid, which the test suite
/// rules out (`every_spec_file_is_registered_and_valid` loads each with `Spec::load`).
pub fn specs() -> &'static [Spec] {
    static SPECS: OnceLock<Vec<Spec>> = OnceLock::new();
    SPECS.get_or_init(|| {
        REGISTRY
            .iter()
            .map(|e| Spec::load_lazily(e.file, e.toml, e.captures).unwrap_or_else(|e| panic!("embedded spec: {e}")))
            .collect()
    })
}

pub fn spec(id: &str) -> Option<&'static Spec> {
    specs().iter().find(|s| s.id == id)
}

/// Builds the transform `id` with `options` (already type-checked against the spec).
pub fn build(id: &str, options: &OptionValues) -> Option<Result<Box<dyn Transform>, OptionError>> {
    let idx = specs().iter().position(|s| s.id == id)?;
    Some((REGISTRY[idx].build)(&specs()[idx], options))
}

/// What a transform found at one place.
#[derive(Debug, Clone)]
pub struct Finding {
    pub transform: &'static str,
    pub range: Range<usize>,
    pub message: String,
    pub kind: FindingKind,
}

#[derive(Debug, Clone)]
pub enum FindingKind {
    /// A site to rewrite.
    Site(Fix),
    /// A candidate deliberately left alone: its class and the evidence.
    LeftAlone { class: String, evidence: String },
}

/// An exception a rewrite raises: a builtin (or generated) name, or one
/// imported as `from module import Name`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ExceptionRef {
    Name(String),
    Import { module: String, name: String },
}

impl ExceptionRef {
    /// Parses `Name` or `module.path:Name`.
    pub fn parse(s: &str) -> Result<ExceptionRef, String> {
        let ident = |x: &str| {
            !x.is_empty()
                && x.chars().all(|c| c.is_alphanumeric() || c == '_')
                && !x.starts_with(|c: char| c.is_ascii_digit())
        };
        match s.split_once(':') {
            None if ident(s) => Ok(ExceptionRef::Name(s.to_owned())),
            Some((module, name)) if ident(name) && module.split('.').all(ident) => {
                Ok(ExceptionRef::Import { module: module.to_owned(), name: name.to_owned() })
            }
            _ => Err(format!("expected a name such as `TimeoutError` or `module:Name`, got `{s}`")),
        }
    }

    pub fn name(&self) -> &str {
        match self {
            ExceptionRef::Name(n) | ExceptionRef::Import { name: n, .. } => n,
        }
    }

    /// The name to raise at `at` for a builtin or imported exception, adding
    /// the import to `header` when the module lacks it. Errors when a
    /// builtin's name is bound to something else there.
    ///
    /// An imported exception never shadows a name the module already uses:
    /// `from module import Name` is added only when the file spells `Name`
    /// nowhere (code, strings or comments: the same answer whether it was
    /// parsed whole or partially). Otherwise it is imported under an alias
    /// that no word of the file spells, made of the module's first part and
    /// the name (`mylib.errors:TimeoutError` in a module that catches the
    /// builtin `TimeoutError` becomes `from mylib.errors import TimeoutError
    /// as MylibTimeoutError`). An existing import of it (aliased or not)
    /// that reaches `at` is reused.
    pub fn name_at(
        &self,
        ctx: &Ctx<'_>,
        at: Node<'_>,
        header: &mut Vec<crate::pipeline::edits::HeaderItem>,
    ) -> Result<String, String> {
        let resolver = ctx.resolver();
        match self {
            ExceptionRef::Name(name) => {
                if resolver.resolve_name(name, at).as_deref() != Some(&format!("builtins.{name}")) {
                    return Err(format!("`{name}` is shadowed here, so the builtin exception cannot be raised"));
                }
                Ok(name.clone())
            }
            ExceptionRef::Import { module, name } => {
                let target = format!("{module}.{name}");
                if resolver.resolve_name(name, at).as_deref() == Some(target.as_str()) {
                    return Ok(name.clone());
                }
                // Already imported at module level (under any name) and not
                // shadowed where it is raised.
                let mut existing: Vec<&str> =
                    resolver.module().imports().filter(|(_, t)| *t == target).map(|(n, _)| n).collect();
                existing.sort_unstable_by_key(|n| (*n != name.as_str(), *n));
                if let Some(n) =
                    existing.into_iter().find(|n| resolver.resolve_name(n, at).as_deref() == Some(target.as_str()))
                {
                    return Ok(n.to_owned());
                }
                let text = ctx.whole_file();
                if !spells(text, name) {
                    header.push(crate::pipeline::edits::HeaderItem::Import {
                        statement: format!("from {module} import {name}"),
                    });
                    return Ok(name.clone());
                }
                let alias = import_alias(text, module, name);
                header.push(crate::pipeline::edits::HeaderItem::Import {
                    statement: format!("from {module} import {name} as {alias}"),
                });
                Ok(alias)
            }
        }
    }
}

/// Whether `text` spells `word` as a whole word outside comments (strings
/// count: a docstring's words are cheap to avoid). A `#` before the word on
/// its line, with no quote open before it, starts a comment.
fn spells(text: &str, word: &str) -> bool {
    let bytes = text.as_bytes();
    let is_word = |b: u8| b.is_ascii_alphanumeric() || b == b'_' || b >= 0x80;
    memchr::memmem::find_iter(bytes, word.as_bytes()).any(|at| {
        let before = at.checked_sub(1).map(|i| bytes[i]);
        let after = bytes.get(at + word.len()).copied();
        let line = &bytes[memchr::memrchr2(b'\n', b'\r', &bytes[..at]).map_or(0, |p| p + 1)..at];
        let in_comment = memchr::memchr(b'#', line).is_some_and(|hash| {
            let head = &line[..hash];
            head.iter().filter(|&&b| b == b'"').count() % 2 == 0
                && head.iter().filter(|&&b| b == b'\'').count() % 2 == 0
        });
        !before.is_some_and(is_word) && !after.is_some_and(is_word) && !in_comment
    })
}

/// The alias an imported exception takes in a file that spells its name:
/// the module's first part in CamelCase, then the name (`MylibTimeoutError`),
/// with `_2`, `_3`, ... until no word of `text` spells it. It depends on the
/// text alone, so every site of a file gets the same alias (and the header
/// adds one import).
fn import_alias(text: &str, module: &str, name: &str) -> String {
    let first = module.split('.').next().unwrap_or(module);
    let camel: String = first
        .split('_')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let mut cs = p.chars();
            cs.next().map(|c| c.to_uppercase().chain(cs).collect::<String>()).unwrap_or_default()
        })
        .collect();
    let base = format!("{camel}{name}");
    let mut candidate = base.clone();
    let mut n = 2;
    while spells(text, &candidate) {
        candidate = format!("{base}_{n}");
        n += 1;
    }
    candidate
}

/// Reads an option value the spec guarantees to be present and well-typed.
pub fn opt<'v>(options: &'v OptionValues, spec: &Spec, name: &str) -> &'v toml::Value {
    options.get(name).unwrap_or_else(|| panic!("{}: option `{name}` is declared in the spec", spec.id))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exception_option_forms() {
        assert_eq!(ExceptionRef::parse("TimeoutError"), Ok(ExceptionRef::Name("TimeoutError".into())));
        assert_eq!(
            ExceptionRef::parse("myapp.errors:RetryExhausted"),
            Ok(ExceptionRef::Import { module: "myapp.errors".into(), name: "RetryExhausted".into() })
        );
        assert!(ExceptionRef::parse("a b").is_err());
        assert!(ExceptionRef::parse("mod:").is_err());
    }

    #[test]
    fn import_aliases_avoid_every_spelled_word() {
        assert!(spells("except TimeoutError:\n", "TimeoutError"));
        assert!(!spells("except TimeoutErrors:\n", "TimeoutError"));
        assert!(!spells("# tame-args: --exception m:TimeoutError\n", "TimeoutError"));
        assert!(spells("x = '#'; raise TimeoutError\n", "TimeoutError"));
        assert_eq!(import_alias("TimeoutError", "mylib.errors", "TimeoutError"), "MylibTimeoutError");
        assert_eq!(import_alias("TimeoutError MylibTimeoutError", "mylib", "TimeoutError"), "MylibTimeoutError_2");
        assert_eq!(import_alias("", "my_lib.x", "Error"), "MyLibError");
    }

    #[test]
    fn every_spec_file_is_registered_and_valid() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("transforms");
        let mut files: Vec<String> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| format!("transforms/{}", e.unwrap().file_name().to_string_lossy()))
            .filter(|f| f.ends_with(".toml"))
            .collect();
        files.sort();
        let mut registered: Vec<String> = REGISTRY.iter().map(|e| e.file.to_string()).collect();
        registered.sort();
        assert_eq!(files, registered, "every transforms/*.toml must be in REGISTRY and vice versa");
        for Entry { file, toml, captures, .. } in REGISTRY {
            let spec = Spec::load(file, toml, captures).unwrap();
            assert_eq!(format!("transforms/{}.toml", spec.id), *file);
            let built = build(&spec.id, &spec.defaults()).unwrap();
            assert!(built.is_ok(), "{file}: defaults must build");
        }
    }
}
