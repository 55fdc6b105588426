//! Configuration files: `[tool.tame]` in `pyproject.toml`, or `tame.toml`.
//!
//! The nearest file at or above a path wins; in one directory `tame.toml`
//! wins over `pyproject.toml`, and a `pyproject.toml` without `[tool.tame]` is
//! passed over. Loading is strict: an unknown key or a value of the wrong type
//! is an error naming the file, the key and the expected type, because a typo
//! silently ignored is a migration gone wrong. Command-line flags override the
//! file; [`Effective`] records where every value came from, for `tame config`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use globset::{Glob, GlobSet, GlobSetBuilder};
use thiserror::Error;

use crate::transforms::{self, OptionValues, Spec};

#[derive(Debug, Error)]
pub enum ConfigError {
    #[error("{file}: {message}")]
    File { file: String, message: String },
    #[error("{0}")]
    Cli(String),
}

fn file_err(file: &Path, message: impl Into<String>) -> ConfigError {
    ConfigError::File { file: crate::display_path(file), message: message.into() }
}

/// The `[tool.tame]` table of one file, validated.
#[derive(Debug, Default, Clone)]
pub struct FileConfig {
    /// The file it came from, and the directory globs are relative to.
    pub path: Option<PathBuf>,
    pub dir: PathBuf,
    pub select: Option<Vec<String>>,
    pub ignore: Option<Vec<String>>,
    pub include: Option<Vec<String>>,
    pub exclude: Option<Vec<String>>,
    pub per_file_ignores: Vec<(String, Vec<String>)>,
    /// The line length every written line must fit (else the project's
    /// own: see `crate::app::line_length`).
    pub line_length: Option<usize>,
    pub options: BTreeMap<String, OptionValues>,
}

/// Finds the configuration file for `start` (a file or directory).
pub fn discover(start: &Path) -> Result<FileConfig, ConfigError> {
    let abs = std::path::absolute(start).unwrap_or_else(|_| start.to_path_buf());
    let mut dir = if abs.is_dir() { Some(abs.as_path()) } else { abs.parent() };
    while let Some(d) = dir {
        let tame_toml = d.join("tame.toml");
        if tame_toml.is_file() {
            return load(&tame_toml, false);
        }
        let pyproject = d.join("pyproject.toml");
        if pyproject.is_file() {
            let cfg = load(&pyproject, true)?;
            if cfg.path.is_some() {
                return Ok(cfg);
            }
        }
        dir = d.parent();
    }
    Ok(FileConfig { dir: std::env::current_dir().unwrap_or_default(), ..FileConfig::default() })
}

/// Loads `path`; for a `pyproject.toml`, the `[tool.tame]` table (if absent,
/// the result has `path: None`).
pub fn load(path: &Path, pyproject: bool) -> Result<FileConfig, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|e| file_err(path, crate::app::walk::describe_io(&e)))?;
    let doc: toml::Table = toml::from_str(&text).map_err(|e| file_err(path, format!("invalid TOML: {e}")))?;
    let dir = path.parent().map(Path::to_path_buf).unwrap_or_default();
    let (table, prefix) = if pyproject {
        match doc.get("tool").and_then(|t| t.get("tame")) {
            None => return Ok(FileConfig { dir, ..FileConfig::default() }),
            Some(toml::Value::Table(t)) => (t.clone(), "tool.tame."),
            Some(_) => return Err(file_err(path, "`tool.tame` must be a table")),
        }
    } else {
        (doc, "")
    };
    let mut cfg = FileConfig { path: Some(path.to_path_buf()), dir, ..FileConfig::default() };
    for (key, value) in &table {
        let name = format!("{prefix}{key}");
        match key.as_str() {
            "select" => cfg.select = Some(ids(path, &name, value)?),
            "ignore" => cfg.ignore = Some(ids(path, &name, value)?),
            "include" => cfg.include = Some(strings(path, &name, value)?),
            "exclude" => cfg.exclude = Some(strings(path, &name, value)?),
            "line-length" => {
                let n = value.as_integer().and_then(|n| usize::try_from(n).ok()).filter(|n| *n > 0);
                cfg.line_length = Some(n.ok_or_else(|| wrong_type(path, &name, "a positive integer", value))?);
            }
            "per-file-ignores" => {
                let t = value.as_table().ok_or_else(|| wrong_type(path, &name, "a table of glob = [ids]", value))?;
                for (glob, v) in t {
                    Glob::new(glob).map_err(|e| file_err(path, format!("`{name}`: invalid glob `{glob}`: {e}")))?;
                    cfg.per_file_ignores.push((glob.clone(), ids(path, &format!("{name}.\"{glob}\""), v)?));
                }
            }
            id => {
                let spec = transforms::spec(id).ok_or_else(|| {
                    file_err(
                        path,
                        format!(
                            "unknown key `{name}` (expected select, ignore, include, exclude, per-file-ignores, line-length, or a transform table: {})",
                            transform_ids().join(", ")
                        ),
                    )
                })?;
                let t = value.as_table().ok_or_else(|| wrong_type(path, &name, "a table of options", value))?;
                let mut opts = OptionValues::new();
                for (opt, v) in t {
                    let o = spec.option(opt).ok_or_else(|| {
                        let known: Vec<&str> = spec.options.iter().map(|o| o.name.as_str()).collect();
                        file_err(path, format!("unknown key `{name}.{opt}` (options of {id}: {})", known.join(", ")))
                    })?;
                    let checked =
                        o.kind.check(v).ok_or_else(|| wrong_type(path, &format!("{name}.{opt}"), o.kind.name(), v))?;
                    opts.insert(opt.clone(), checked);
                }
                cfg.options.insert(id.to_owned(), opts);
            }
        }
    }
    Ok(cfg)
}

fn transform_ids() -> Vec<&'static str> {
    transforms::specs().iter().map(|s| s.id.as_str()).collect()
}

fn wrong_type(path: &Path, key: &str, expected: &str, got: &toml::Value) -> ConfigError {
    file_err(path, format!("`{key}` must be {expected}, got {} `{got}`", got.type_str()))
}

fn strings(path: &Path, key: &str, v: &toml::Value) -> Result<Vec<String>, ConfigError> {
    v.as_array()
        .and_then(|a| a.iter().map(|x| x.as_str().map(str::to_owned)).collect::<Option<Vec<_>>>())
        .ok_or_else(|| wrong_type(path, key, "a list of strings", v))
}

fn ids(path: &Path, key: &str, v: &toml::Value) -> Result<Vec<String>, ConfigError> {
    let list = strings(path, key, v)?;
    for id in &list {
        if transforms::spec(id).is_none() {
            return Err(file_err(
                path,
                format!("`{key}`: unknown transform `{id}` (known: {})", transform_ids().join(", ")),
            ));
        }
    }
    Ok(list)
}

/// Where a value came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    Default,
    File(String),
    Cli,
}

impl std::fmt::Display for Origin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Origin::Default => write!(f, "default"),
            Origin::File(p) => write!(f, "{p}"),
            Origin::Cli => write!(f, "command line"),
        }
    }
}

/// Command-line settings that override the file.
#[derive(Debug, Default, Clone)]
pub struct Overrides {
    pub only: Vec<String>,
    pub skip: Vec<String>,
    /// (transform, option, raw value) from flags and `--set`.
    pub options: Vec<(String, String, String)>,
    /// `--line-length`.
    pub line_length: Option<usize>,
}

/// The configuration in force for one group of paths.
pub struct Effective {
    pub file: FileConfig,
    pub specs: Vec<&'static Spec>,
    pub options: Vec<OptionValues>,
    /// (key, value, origin) for every setting, in display order.
    pub origins: Vec<(String, String, Origin)>,
    /// The selected transforms, built with their options (in `specs` order).
    pub transforms: Vec<Box<dyn transforms::Transform>>,
    include: Option<GlobSet>,
    exclude: Option<GlobSet>,
    per_file: Vec<(GlobSet, Vec<String>)>,
    line_length: Option<usize>,
}

fn globset(dir: &Path, file: &Path, globs: &[String]) -> Result<GlobSet, ConfigError> {
    let mut b = GlobSetBuilder::new();
    for g in globs {
        b.add(Glob::new(g).map_err(|e| file_err(file, format!("invalid glob `{g}`: {e}")))?);
        // `tests/` style directory patterns also match everything below them.
        b.add(Glob::new(&format!("{}/**", g.trim_end_matches('/'))).map_err(|e| file_err(file, e.to_string()))?);
    }
    let _ = dir;
    b.build().map_err(|e| file_err(file, e.to_string()))
}

impl Effective {
    pub fn new(file: FileConfig, cli: &Overrides) -> Result<Effective, ConfigError> {
        let file_origin = || Origin::File(file.path.as_deref().map(crate::display_path).unwrap_or_default());
        for id in cli.only.iter().chain(&cli.skip) {
            if transforms::spec(id).is_none() {
                return Err(ConfigError::Cli(format!("unknown transform `{id}` (see `tame transforms`)")));
            }
        }
        let mut origins = Vec::new();
        let (select, select_origin) = if !cli.only.is_empty() {
            (Some(cli.only.clone()), Origin::Cli)
        } else if let Some(s) = &file.select {
            (Some(s.clone()), file_origin())
        } else {
            (None, Origin::Default)
        };
        let mut ignore: Vec<String> = file.ignore.clone().unwrap_or_default();
        let ignore_origin = match (cli.skip.is_empty(), file.ignore.is_some()) {
            (false, _) => Origin::Cli,
            (true, true) => file_origin(),
            (true, false) => Origin::Default,
        };
        ignore.extend(cli.skip.iter().cloned());
        let specs: Vec<&'static Spec> = transforms::specs()
            .iter()
            .filter(|s| select.as_ref().is_none_or(|sel| sel.contains(&s.id)))
            .filter(|s| !ignore.contains(&s.id))
            .collect();
        if specs.is_empty() {
            return Err(ConfigError::Cli("no transform is selected".into()));
        }
        let list = |v: &[&str]| format!("[{}]", v.iter().map(|s| format!("{s:?}")).collect::<Vec<_>>().join(", "));
        let selected: Vec<&str> = specs.iter().map(|s| s.id.as_str()).collect();
        origins.push(("select".into(), list(&selected), select_origin));
        let ignored: Vec<&str> = ignore.iter().map(String::as_str).collect();
        origins.push(("ignore".into(), list(&ignored), ignore_origin));
        for (key, v) in [("include", &file.include), ("exclude", &file.exclude)] {
            let shown: Vec<&str> = v.iter().flatten().map(String::as_str).collect();
            origins.push((key.into(), list(&shown), if v.is_some() { file_origin() } else { Origin::Default }));
        }
        for (glob, ids) in &file.per_file_ignores {
            let shown: Vec<&str> = ids.iter().map(String::as_str).collect();
            origins.push((format!("per-file-ignores.{glob:?}"), list(&shown), file_origin()));
        }
        let line_length = cli.line_length.or(file.line_length);
        let shown =
            line_length.map_or_else(|| "project's flake8/ruff/black setting, else 79".to_owned(), |n| n.to_string());
        let line_origin = match (cli.line_length, file.line_length) {
            (Some(_), _) => Origin::Cli,
            (None, Some(_)) => file_origin(),
            (None, None) => Origin::Default,
        };
        origins.push(("line-length".into(), shown, line_origin));
        let mut options = Vec::new();
        let mut built_transforms = Vec::with_capacity(specs.len());
        for spec in &specs {
            let mut values = spec.defaults();
            let mut origin: BTreeMap<String, Origin> = BTreeMap::new();
            if let Some(from_file) = file.options.get(&spec.id) {
                for (k, v) in from_file {
                    values.insert(k.clone(), v.clone());
                    origin.insert(k.clone(), file_origin());
                }
            }
            for (id, opt, raw) in cli.options.iter().filter(|(id, _, _)| *id == spec.id) {
                let o = spec.option(opt).ok_or_else(|| {
                    ConfigError::Cli(format!("transform `{id}` has no option `{opt}` (see `tame explain {id}`)"))
                })?;
                let v = o.kind.parse_cli(raw).ok_or_else(|| {
                    ConfigError::Cli(format!("option `{id}.{opt}`: expected {}, got `{raw}`", o.kind.name()))
                })?;
                values.insert(opt.clone(), v);
                origin.insert(opt.clone(), Origin::Cli);
            }
            let built = transforms::build(&spec.id, &values).expect("selected ids exist").map_err(|e| {
                let from = origin.get(&e.option).cloned().unwrap_or(Origin::Default);
                ConfigError::Cli(format!("{e} (set in {from})"))
            })?;
            built_transforms.push(built);
            for o in &spec.options {
                let from = origin.get(&o.name).cloned().unwrap_or(Origin::Default);
                origins.push((format!("{}.{}", spec.id, o.name), values[&o.name].to_string(), from));
            }
            options.push(values);
        }
        // Unknown ids in `--set` for unselected transforms are still errors.
        for (id, opt, _) in &cli.options {
            let spec = transforms::spec(id)
                .ok_or_else(|| ConfigError::Cli(format!("unknown transform `{id}` (see `tame transforms`)")))?;
            if spec.option(opt).is_none() {
                return Err(ConfigError::Cli(format!(
                    "transform `{id}` has no option `{opt}` (see `tame explain {id}`)"
                )));
            }
        }
        let cfg_file = file.path.clone().unwrap_or_default();
        let include = file.include.as_ref().map(|g| globset(&file.dir, &cfg_file, g)).transpose()?;
        let exclude = file.exclude.as_ref().map(|g| globset(&file.dir, &cfg_file, g)).transpose()?;
        let per_file = file
            .per_file_ignores
            .iter()
            .map(|(g, ids)| Ok((globset(&file.dir, &cfg_file, std::slice::from_ref(g))?, ids.clone())))
            .collect::<Result<Vec<_>, ConfigError>>()?;
        Ok(Effective {
            file,
            specs,
            options,
            origins,
            transforms: built_transforms,
            include,
            exclude,
            per_file,
            line_length,
        })
    }

    /// The line length set by tame's configuration or command line, if any.
    pub fn line_length(&self) -> Option<usize> {
        self.line_length
    }

    fn relative(&self, path: &Path) -> PathBuf {
        // `std::path::absolute` would ask the OS for the working directory
        // for every file; it cannot change during a run.
        static CWD: std::sync::OnceLock<Option<PathBuf>> = std::sync::OnceLock::new();
        let abs = match CWD.get_or_init(|| std::env::current_dir().ok()) {
            Some(cwd) if path.is_relative() => cwd.join(path),
            _ => std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf()),
        };
        let abs: PathBuf = abs.components().filter(|c| !matches!(c, std::path::Component::CurDir)).collect();
        abs.strip_prefix(&self.file.dir).map(Path::to_path_buf).unwrap_or(abs)
    }

    /// Whether a walked file is in scope (`include`/`exclude`).
    pub fn includes(&self, path: &Path) -> bool {
        if self.include.is_none() && self.exclude.is_none() {
            return true;
        }
        let rel = self.relative(path);
        self.include.as_ref().is_none_or(|g| g.is_match(&rel))
            && !self.exclude.as_ref().is_some_and(|g| g.is_match(&rel))
    }

    /// The transforms `per-file-ignores` turns off for `path`.
    pub fn ignored_for(&self, path: &Path) -> Vec<&str> {
        if self.per_file.is_empty() {
            return Vec::new();
        }
        let rel = self.relative(path);
        self.per_file
            .iter()
            .filter(|(g, _)| g.is_match(&rel))
            .flat_map(|(_, ids)| ids.iter().map(String::as_str))
            .collect()
    }

    /// `tame config`: the effective settings and their origins.
    pub fn render(&self) -> String {
        let mut s = match &self.file.path {
            Some(p) => format!("# configuration file: {}\n", crate::display_path(p)),
            None => "# no configuration file found; defaults and command line only\n".to_owned(),
        };
        // The origins line up after the settings that fit in ALIGN columns;
        // a longer one (a list of loaders) is followed directly by its origin,
        // so one long value does not pad every line to its width.
        const ALIGN: usize = 60;
        let lines: Vec<(String, &Origin)> = self.origins.iter().map(|(k, v, o)| (format!("{k} = {v}"), o)).collect();
        let len = |l: &str| l.chars().count();
        let width = lines.iter().map(|(l, _)| len(l)).filter(|&n| n <= ALIGN).max().unwrap_or(0);
        for (line, o) in &lines {
            let pad = width.saturating_sub(len(line));
            s.push_str(&format!("{line}{:pad$}  # {o}\n", ""));
        }
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
        let p = dir.join(name);
        std::fs::write(&p, text).unwrap();
        p
    }

    #[test]
    fn tame_toml_wins_and_values_are_typed() {
        let d = tempfile::tempdir().unwrap();
        write(d.path(), "pyproject.toml", "[tool.tame]\nselect = [\"driver-load-error\"]\n");
        write(d.path(), "tame.toml", "[bounded-retry]\nmax_attempts = 5\ndeadline = 30\n");
        let cfg = discover(d.path()).unwrap();
        assert!(cfg.path.unwrap().ends_with("tame.toml"));
        assert_eq!(cfg.options["bounded-retry"]["deadline"], toml::Value::Float(30.0));
    }

    #[test]
    fn pyproject_without_section_is_passed_over() {
        let d = tempfile::tempdir().unwrap();
        write(d.path(), "pyproject.toml", "[tool.tame]\nignore = [\"bounded-retry\"]\n");
        std::fs::create_dir(d.path().join("pkg")).unwrap();
        write(&d.path().join("pkg"), "pyproject.toml", "[project]\nname = \"x\"\n");
        let cfg = discover(&d.path().join("pkg")).unwrap();
        assert_eq!(cfg.ignore, Some(vec!["bounded-retry".to_owned()]));
    }

    #[test]
    fn errors_name_file_key_and_type() {
        let d = tempfile::tempdir().unwrap();
        let p = write(d.path(), "tame.toml", "selct = []\n");
        let e = load(&p, false).unwrap_err().to_string();
        assert!(e.contains("tame.toml: unknown key `selct`"), "{e}");
        let p = write(d.path(), "tame.toml", "[bounded-retry]\nmax_attempts = \"ten\"\n");
        let e = load(&p, false).unwrap_err().to_string();
        assert!(e.ends_with("`bounded-retry.max_attempts` must be integer, got string `\"ten\"`"), "{e}");
        let p = write(d.path(), "pyproject.toml", "[tool.tame.bounded-retry]\nmax_tries = 3\n");
        let e = load(&p, true).unwrap_err().to_string();
        assert!(e.contains("unknown key `tool.tame.bounded-retry.max_tries`"), "{e}");
    }

    #[test]
    fn cli_overrides_file_and_origins_are_recorded() {
        let d = tempfile::tempdir().unwrap();
        let p = write(d.path(), "tame.toml", "[bounded-retry]\nmax_attempts = 5\ndeadline = 30\n");
        let file = load(&p, false).unwrap();
        let cli =
            Overrides { options: vec![("bounded-retry".into(), "deadline".into(), "60".into())], ..Default::default() };
        let eff = Effective::new(file, &cli).unwrap();
        assert_eq!(eff.options[0]["max_attempts"], toml::Value::Integer(5));
        assert_eq!(eff.options[0]["deadline"], toml::Value::Float(60.0));
        let find = |k: &str| eff.origins.iter().find(|(key, _, _)| key == k).unwrap().2.clone();
        assert!(matches!(find("bounded-retry.max_attempts"), Origin::File(_)));
        assert_eq!(find("bounded-retry.deadline"), Origin::Cli);
        assert_eq!(find("bounded-retry.on_exhaust"), Origin::Default);
    }

    #[test]
    fn include_exclude_and_per_file_ignores() {
        let d = tempfile::tempdir().unwrap();
        let p = write(
            d.path(),
            "tame.toml",
            "exclude = [\"build\"]\n[per-file-ignores]\n\"tests/*.py\" = [\"driver-load-error\"]\n",
        );
        let eff = Effective::new(load(&p, false).unwrap(), &Overrides::default()).unwrap();
        assert!(!eff.includes(&d.path().join("build/x.py")));
        assert!(eff.includes(&d.path().join("src/x.py")));
        assert_eq!(eff.ignored_for(&d.path().join("tests/t.py")), ["driver-load-error"]);
        assert!(eff.ignored_for(&d.path().join("src/t.py")).is_empty());
    }
}
