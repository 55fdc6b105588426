//! One module read from stdin (`tame check -`, `tame fix -`), as editors and
//! Ruff users pipe it: `--stdin-filename` stands in for its path.
//!
//! The path (default `-`, configuration found from the current directory)
//! is used for configuration discovery, per-file-ignores, the line length,
//! include/exclude under `--force-exclude`, and the name shown in output. It
//! is never read or written: nothing on disk changes. For the same reason
//! the project-wide steps of `fix` are cut short: `driver-load-error` never
//! writes a shared exception module, so a rewrite defines its exception in
//! the module itself, unless its package's exceptions module already
//! defines it (then it is imported) or `--driver-exception module:Name`
//! names one; tests pinning the old exit are not looked for.

use std::io::Read;
use std::path::{Path, PathBuf};

use crate::app::cli::Common;
use crate::app::config::ConfigError;
use crate::app::runner::{self, Mode, Profile, RunResult};
use crate::emit::output::{FileOutcome, ParseKind};
use crate::transforms::{ExceptionRef, FindingKind, Transform};

/// Whether the run reads stdin: the only path is `-`, or no path is given
/// but `--stdin-filename` is (as with Ruff).
pub(crate) fn requested(common: &Common) -> bool {
    match common.paths.as_slice() {
        [] => common.stdin_filename.is_some(),
        [only] => only.as_os_str() == "-",
        _ => false,
    }
}

/// Why `-` cannot be read here, if it cannot: with other paths, or with
/// `--stdin-filename` but other paths.
pub(crate) fn misuse(common: &Common) -> Option<&'static str> {
    let dash = common.paths.iter().any(|p| p.as_os_str() == "-");
    if dash && common.paths.len() > 1 {
        return Some("`-` (stdin) must be the only path");
    }
    if common.stdin_filename.is_some() && !common.paths.is_empty() && !dash {
        return Some("`--stdin-filename` names the module read from stdin: pass `-` (or no path), not files");
    }
    None
}

/// The stdin module processed: the run (one file, or none when
/// `--force-exclude` excludes it), its profile, and the source read.
pub(crate) struct StdinRun {
    pub result: RunResult,
    pub profiles: Vec<Profile>,
    pub source: Vec<u8>,
}

/// Reads the module from `input` and processes it in `mode`.
pub(crate) fn process(
    common: &Common,
    mode: Mode,
    show_left_alone: bool,
    input: &mut impl Read,
) -> Result<StdinRun, StdinError> {
    let path: PathBuf = common.stdin_filename.clone().unwrap_or_else(|| PathBuf::from("-"));
    // `-` has no directory of its own: configuration is found from the current one.
    let start = if common.stdin_filename.is_some() { path.as_path() } else { Path::new(".") };
    let effective = common.effective(start)?;
    let mut source = Vec::new();
    input.read_to_end(&mut source).map_err(|e| StdinError::Read(crate::app::walk::describe_io(&e)))?;
    let profile = Profile { effective, roots: vec![path.clone()] };
    let mut result =
        RunResult { work: Vec::new(), walk_errors: Vec::new(), symlinks: 0, scanned: 0, parse_counts: [0; 3] };
    // Without `--stdin-filename` there is no path for the globs to match.
    let excluded = common.force_exclude && common.stdin_filename.is_some() && !profile.effective.includes(&path);
    if !excluded {
        let opts = runner::options(common, mode, show_left_alone);
        let mut work = runner::process_source(&path, &source, &profile, None, opts, mode, true, FileOutcome::default());
        if let Some(shared) = existing_exception(&path, &work, &profile) {
            let outcome = FileOutcome::default();
            work = runner::process_source(&path, &source, &profile, Some(shared.as_ref()), opts, mode, true, outcome);
        }
        work.outcome.display = crate::display_path(&path);
        if let Some(k) = match work.outcome.parse {
            ParseKind::Prefiltered => Some(0),
            ParseKind::Partial => Some(1),
            ParseKind::Full => Some(2),
            ParseKind::None => None,
        } {
            result.parse_counts[k] += 1;
        }
        result.scanned = 1;
        result.work.push(work);
    }
    Ok(StdinRun { result, profiles: vec![profile], source })
}

/// `driver-load-error` with a generated exception, when the module's
/// rewrite would define the class but its package already has an exceptions
/// module defining it (`project::find_home`, which only reads): the
/// transform reconfigured to import it, so a project never gets two classes
/// of one name. Otherwise the module keeps its own definition: with nothing
/// written, no shared home can be made.
fn existing_exception(path: &Path, work: &runner::Work, profile: &Profile) -> Option<Box<dyn Transform>> {
    use crate::pipeline::edits::HeaderItem;
    use crate::transforms::driver_load_error::{ID, project};
    let effective = &profile.effective;
    let at = effective.specs.iter().position(|s| s.id == ID)?;
    let options = &effective.options[at];
    let Ok(ExceptionRef::Name(name)) = ExceptionRef::parse(options.get("exception")?.as_str()?) else { return None };
    let defines = work.outcome.findings.iter().any(|l| {
        l.finding.transform == ID
            && matches!(&l.finding.kind, FindingKind::Site(fix)
                if fix.header.iter().any(|h| matches!(h, HeaderItem::Definition { name: n, .. } if *n == name)))
    });
    if !defines {
        return None;
    }
    let top = project::top_package(path)?;
    let home = project::find_home(&[path.to_path_buf()], &name, &[top]).ok()?;
    let itself = std::path::absolute(&home.path).ok() == std::path::absolute(path).ok();
    if !home.defines || itself {
        return None;
    }
    let mut reconfigured = options.clone();
    reconfigured.insert("exception".into(), toml::Value::String(format!("{}:{name}", home.module)));
    crate::transforms::build(ID, &reconfigured)?.ok()
}

#[derive(Debug, thiserror::Error)]
pub(crate) enum StdinError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error("-: could not read stdin: {0}")]
    Read(String),
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::app::cli::{Cli, Command};
    use clap::Parser;

    fn common(args: &[&str]) -> Common {
        let mut all = vec!["tame", "check"];
        all.extend_from_slice(args);
        let Command::Check(a) = Cli::try_parse_from(all).unwrap().command else { unreachable!() };
        a.common
    }

    #[test]
    fn stdin_is_requested_by_dash_alone_or_by_the_filename_alone() {
        assert!(requested(&common(&["-"])));
        assert!(requested(&common(&["--stdin-filename", "a.py"])));
        assert!(requested(&common(&["--stdin-filename", "a.py", "-"])));
        assert!(!requested(&common(&[])));
        assert!(!requested(&common(&["a.py"])));
        assert_eq!(misuse(&common(&["-", "a.py"])), Some("`-` (stdin) must be the only path"));
        assert!(misuse(&common(&["--stdin-filename", "a.py", "b.py"])).is_some());
        assert_eq!(misuse(&common(&["-"])), None);
    }

    #[test]
    fn a_module_from_stdin_is_processed_under_its_filename() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("tame.toml"), "exclude = [\"vendor\"]\n").unwrap();
        let name = dir.path().join("vendor/x.py");
        let name = name.to_str().unwrap();
        let source = b"import time\nwhile True:\n    time.sleep(1)\n";
        let run = |args: &[&str]| process(&common(args), Mode::Check, false, &mut &source[..]).unwrap();
        let kept = run(&["--stdin-filename", name, "-"]);
        assert_eq!(kept.source, source);
        assert_eq!(kept.result.scanned, 1);
        assert!(kept.result.work[0].outcome.display.ends_with("vendor/x.py"));
        let excluded = run(&["--force-exclude", "--stdin-filename", name]);
        assert_eq!(excluded.result.scanned, 0);
        assert!(excluded.result.work.is_empty());
    }
}
