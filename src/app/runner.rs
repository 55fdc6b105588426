//! Running transforms over files: configuration per root, walking,
//! parallel processing with deterministic output order, and writing.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use crate::app::cli::Common;
use crate::app::config::Effective;
use crate::app::{exit_code, progress, walk};
use crate::display_path;
use crate::emit::output::{FileOutcome, ParseKind, Summary};
use crate::emit::{diff, write};
use crate::pipeline::engine;
use crate::transforms::{FindingKind, Transform};

/// What a file run is asked to do.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Mode {
    Check,
    DryRun,
    Write,
}

/// A configuration in force for some roots, with its built transforms.
pub struct Profile {
    pub effective: Effective,
    pub roots: Vec<PathBuf>,
}

/// Resolves the configuration of every root (grouping roots that share a file).
pub fn profiles(common: &Common) -> Result<Vec<Profile>, crate::app::config::ConfigError> {
    let roots = if common.paths.is_empty() { vec![PathBuf::from(".")] } else { common.paths.clone() };
    let mut out: Vec<Profile> = Vec::new();
    for root in roots {
        let effective = common.effective(&root)?;
        if let Some(p) = out.iter_mut().find(|p| p.effective.file.path == effective.file.path) {
            p.roots.push(root);
            continue;
        }
        out.push(Profile { effective, roots: vec![root] });
    }
    Ok(out)
}

/// A processed file before output: its outcome plus what writing needs.
pub struct Work {
    pub path: PathBuf,
    pub outcome: FileOutcome,
    pub original: Vec<u8>,
    pub new: Option<Vec<u8>>,
    /// The index of the file's [`Profile`].
    pub profile: usize,
    /// Whether the file spells `SystemExit` (only looked for by `fix`): a
    /// test module may pin a rewritten loader's exit (see
    /// `driver_load_error::pinned`).
    pub spells_exit: bool,
}

/// The result of processing every file.
pub struct RunResult {
    /// Files with something to report. Files with no finding, change or
    /// error are only counted (unless every file is kept for a report), so
    /// memory grows with the findings, not with the tree.
    pub work: Vec<Work>,
    pub walk_errors: Vec<(String, String)>,
    pub symlinks: usize,
    pub scanned: usize,
    /// Files per [`ParseKind`]: prefiltered out, parsed partially, parsed whole.
    pub parse_counts: [usize; 3],
}

/// Processes every file of every profile. `keep_originals` keeps each
/// changed file's original bytes (for reports and interactive review).
/// `show_left_alone`: whether the output shows the candidates left alone.
pub fn process_all(
    common: &Common,
    profiles: &[Profile],
    mode: Mode,
    keep_originals: bool,
    show_left_alone: bool,
) -> RunResult {
    let threads = common.threads.unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get())).max(1);
    let opts = options(common, mode, show_left_alone);
    let results: Mutex<Vec<Work>> = Mutex::new(Vec::new());
    let counts: [AtomicUsize; 3] = Default::default();
    let scanned = AtomicUsize::new(0);
    let silent = common.quiet || common.verbose;
    let handle = |path: &Path, profile: &Profile, progress: &indicatif::ProgressBar| {
        if common.verbose {
            eprintln!("tame: processing {}", display_path(path));
        }
        let mut w = process_path(path, profile, opts, mode, keep_originals);
        w.profile = profiles.iter().position(|p| std::ptr::eq(p, profile)).unwrap_or(0);
        let kind = match w.outcome.parse {
            ParseKind::Prefiltered => Some(0),
            ParseKind::Partial => Some(1),
            ParseKind::Full => Some(2),
            ParseKind::None => None,
        };
        if let Some(k) = kind {
            counts[k].fetch_add(1, Ordering::Relaxed);
        }
        scanned.fetch_add(1, Ordering::Relaxed);
        let quiet = w.outcome.findings.is_empty() && w.outcome.error.is_none() && w.new.is_none();
        if keep_originals || !quiet || w.spells_exit {
            results.lock().expect("no panics while locked").push(w);
        }
        progress.inc(1);
    };
    let (walk_errors, symlinks) = match disjoint_directories(profiles) {
        // Directories only, none inside another (`tame check .`, the common
        // case): no file can be found twice, so files are processed as the
        // walk finds them, on the walker's threads, not after the whole walk.
        Some(roots) => {
            let progress = progress::finding(silent);
            let (mut errors, mut symlinks) = (Vec::new(), 0);
            for (root, p) in roots {
                let walked = walk::stream(root, threads, &|f| {
                    if p.effective.includes(&f) {
                        progress.inc_length(1);
                        handle(&f, p, &progress);
                    }
                });
                errors.extend(walked.errors);
                symlinks += walked.symlinks;
            }
            progress.finish_and_clear();
            (errors, symlinks)
        }
        None => {
            let progress = progress::finding(silent);
            let (files, walked) = collect_files(profiles, threads, common.force_exclude);
            progress::counted(&progress, files.len(), silent);
            let next = AtomicUsize::new(0);
            std::thread::scope(|scope| {
                for _ in 0..threads.min(files.len().max(1)) {
                    scope.spawn(|| {
                        while let Some((path, profile)) = files.get(next.fetch_add(1, Ordering::Relaxed)) {
                            handle(path, &profiles[*profile], &progress);
                        }
                    });
                }
            });
            progress.finish_and_clear();
            (walked.errors, walked.symlinks)
        }
    };
    let mut work = results.into_inner().expect("no panics while locked");
    let mut walk_errors: Vec<(String, String)> =
        walk_errors.iter().map(|e| (display_path(&e.path), e.message.clone())).collect();
    work.sort_by(|a, b| a.outcome.display.cmp(&b.outcome.display).then_with(|| a.path.cmp(&b.path)));
    if mode != Mode::Check {
        for (i, p) in profiles.iter().enumerate() {
            let one = one_driver_exception(&mut work, i, p, opts, mode, keep_originals);
            if let Ok(exception) = &one {
                pinned_tests(&mut work, i, exception.as_ref(), mode);
            }
            if let Err(e) = one {
                // Never two classes of one name in a project: write nothing.
                for w in work.iter_mut() {
                    w.new = None;
                    w.outcome.diff = None;
                    w.outcome.changed = false;
                }
                let root = p.roots.first().map(|r| display_path(r)).filter(|r| !r.is_empty());
                walk_errors.push((root.unwrap_or_else(|| ".".into()), e));
            }
        }
    }
    work.sort_by(|a, b| a.outcome.display.cmp(&b.outcome.display).then_with(|| a.path.cmp(&b.path)));
    let parse_counts = counts.map(AtomicUsize::into_inner);
    RunResult { work, walk_errors, symlinks, scanned: scanned.into_inner(), parse_counts }
}

/// The pipeline options of a run (the per-file ones are set per file).
pub(crate) fn options(common: &Common, mode: Mode, show_left_alone: bool) -> engine::Options {
    engine::Options {
        shortcuts: common.shortcuts(),
        apply: mode != Mode::Check,
        show_left_alone,
        line_length: None,
        package_init: false,
    }
}

/// Every root with its profile, if all roots are directories (not links to
/// one) and none is inside another, so that walking them finds each file once.
fn disjoint_directories(profiles: &[Profile]) -> Option<Vec<(&Path, &Profile)>> {
    let mut roots = Vec::new();
    for p in profiles {
        for root in &p.roots {
            if !std::fs::symlink_metadata(root).ok()?.is_dir() {
                return None;
            }
            roots.push((root.canonicalize().ok()?, root.as_path(), p));
        }
    }
    let overlap = roots
        .iter()
        .enumerate()
        .any(|(i, (a, _, _))| roots.iter().enumerate().any(|(j, (b, _, _))| i != j && b.starts_with(a)));
    (!overlap).then(|| roots.into_iter().map(|(_, root, p)| (root, p)).collect())
}

/// Every file of every profile (with its profile's index), each once, and
/// what the walks met. `force_exclude`: files named on the command line
/// obey include/exclude too.
fn collect_files(profiles: &[Profile], threads: usize, force_exclude: bool) -> (Vec<(PathBuf, usize)>, walk::Walked) {
    let mut files: Vec<(PathBuf, usize)> = Vec::new();
    let mut all = walk::Walked::default();
    for (i, p) in profiles.iter().enumerate() {
        let walked = walk::collect(&p.roots, threads);
        all.symlinks += walked.symlinks;
        all.errors.extend(walked.errors);
        for f in walked.files {
            // Explicit file arguments are processed unless `--force-exclude`
            // (a pre-commit hook names every staged file); walked ones obey
            // include/exclude.
            if (!force_exclude && p.roots.contains(&f)) || p.effective.includes(&f) {
                files.push((f, i));
            }
        }
    }
    // Any fixed order will do (the output is sorted by display path): raw
    // bytes compare much faster than `Path`'s component by component order.
    files.sort_unstable_by(|a, b| a.0.as_os_str().cmp(b.0.as_os_str()).then(a.1.cmp(&b.1)));
    files.dedup_by(|a, b| a.0 == b.0);
    (files, all)
}

fn process_path(path: &Path, profile: &Profile, opts: engine::Options, mode: Mode, keep: bool) -> Work {
    // The display path costs allocations: it is only made for files that
    // have something to show (most have nothing).
    let outcome = FileOutcome::default();
    thread_local! {
        // One read buffer per thread, reused: no allocation (and, for large
        // files, no fresh pages to fault in) per file.
        static BUF: std::cell::RefCell<Vec<u8>> = const { std::cell::RefCell::new(Vec::new()) };
    }
    BUF.with(|buf| {
        let mut buf = buf.borrow_mut();
        process_read(path, profile, None, opts, mode, keep, outcome, &mut buf)
    })
}

/// Reads a whole file into `buf`, which stays initialized to its full
/// length between calls (it only grows), and returns the file's length.
/// Plain `read` calls into that space: no `fstat` and no zeroing per file.
fn read_into(path: &Path, buf: &mut Vec<u8>) -> std::io::Result<usize> {
    use std::io::Read;
    if buf.is_empty() {
        buf.resize(1 << 16, 0);
    }
    let mut f = std::fs::File::open(path)?;
    let mut n = 0;
    loop {
        if n == buf.len() {
            buf.resize(buf.len() * 2, 0);
        }
        match f.read(&mut buf[n..]) {
            Ok(0) => return Ok(n),
            Ok(k) => n += k,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
}

/// Reads the file into `buf` (emptied first) and processes it, with
/// `replace` instead of the profile's transform of the same id.
#[allow(clippy::too_many_arguments)]
fn process_read(
    path: &Path,
    profile: &Profile,
    replace: Option<&dyn Transform>,
    opts: engine::Options,
    mode: Mode,
    keep: bool,
    mut outcome: FileOutcome,
    buf: &mut Vec<u8>,
) -> Work {
    let original: &[u8] = match read_into(path, buf) {
        Ok(n) => &buf[..n],
        Err(e) => {
            outcome.error = Some(format!("could not read: {}", walk::describe_io(&e)));
            outcome.display = display_path(path);
            return Work {
                path: path.to_path_buf(),
                outcome,
                original: Vec::new(),
                new: None,
                profile: 0,
                spells_exit: false,
            };
        }
    };
    process_source(path, original, profile, replace, opts, mode, keep, outcome)
}

/// Processes `original`, the content of the module at `path` (read from
/// it, or from stdin for `-`), as [`process_read`] does.
#[allow(clippy::too_many_arguments)]
pub(crate) fn process_source(
    path: &Path,
    original: &[u8],
    profile: &Profile,
    replace: Option<&dyn Transform>,
    opts: engine::Options,
    mode: Mode,
    keep: bool,
    mut outcome: FileOutcome,
) -> Work {
    // Each file keeps to its own project's line length.
    let line_length = profile.effective.line_length().unwrap_or_else(|| crate::app::line_length::for_file(path));
    let package_init = is_package_init(path);
    let opts = engine::Options { line_length: Some(line_length), package_init, ..opts };
    let ignored = profile.effective.ignored_for(path);
    let active: Vec<&dyn Transform> = profile
        .effective
        .transforms
        .iter()
        .map(|t| match replace {
            Some(r) if r.spec().id == t.spec().id => r,
            _ => t.as_ref(),
        })
        .filter(|t| !ignored.contains(&t.spec().id.as_str()))
        .collect();
    let mut new = None;
    match engine::process_with(original, &active, opts) {
        Ok(p) => {
            outcome.parse = match (p.prefiltered, p.partial) {
                (true, _) => ParseKind::Prefiltered,
                (false, true) => ParseKind::Partial,
                (false, false) => ParseKind::Full,
            };
            outcome.findings = p.findings;
            if let Some(bytes) = p.output {
                outcome.changed = true;
                if mode == Mode::DryRun {
                    outcome.display = display_path(path);
                    outcome.diff = Some(diff::unified(&outcome.display, original, &bytes));
                }
                new = Some(bytes);
            }
        }
        Err(e) => outcome.error = Some(e.to_string()),
    }
    let quiet = outcome.findings.is_empty() && outcome.error.is_none() && new.is_none();
    if outcome.display.is_empty() && (keep || !quiet) {
        outcome.display = display_path(path);
    }
    // Keep the original only where `fix` will need it (to detect concurrent edits).
    let keep_original = if new.is_some() && (mode == Mode::Write || keep) { original.to_vec() } else { Vec::new() };
    // Test modules that may pin a rewritten loader's exit (`fix` only).
    let spells_exit =
        mode != Mode::Check && outcome.error.is_none() && memchr::memmem::find(original, b"SystemExit").is_some();
    if spells_exit && outcome.display.is_empty() {
        outcome.display = display_path(path);
    }
    Work { path: path.to_path_buf(), outcome, original: keep_original, new, profile: 0, spells_exit }
}

/// One `DriverLoadError` per project (`driver_load_error::project`): when
/// the rewrites of several modules of profile `index` would each define the
/// exception class, it is defined once, in the home module found for them,
/// and those modules are processed again with `exception =
/// "home.module:Name"`, so they import it. A single such module keeps its
/// own definition, unless a home already defines the class. `Err` (with the
/// message for the user) when no home can be shown safe.
///
/// Modules are grouped by their top-level package (a directory with an
/// `__init__.py`): each package gets its one class. A module outside any
/// package is a standalone script and keeps its own definition. Returns the
/// exception tests should expect, when there is one for the whole profile.
fn one_driver_exception(
    work: &mut Vec<Work>,
    index: usize,
    profile: &Profile,
    opts: engine::Options,
    mode: Mode,
    keep: bool,
) -> Result<Option<crate::transforms::ExceptionRef>, String> {
    use crate::transforms::driver_load_error::{ID, project};
    let tops: std::collections::BTreeSet<PathBuf> = work
        .iter()
        .filter(|w| w.profile == index)
        .filter(|w| {
            w.outcome
                .findings
                .iter()
                .any(|l| l.finding.transform == ID && matches!(l.finding.kind, FindingKind::Site(_)))
        })
        .filter_map(|w| project::top_package(&w.path))
        .collect();
    if tops.is_empty() {
        return one_home(work, index, profile, opts, mode, keep, None);
    }
    let mut out = None;
    for top in &tops {
        out = one_home(work, index, profile, opts, mode, keep, Some(top))?;
    }
    Ok(if tops.len() == 1 { out } else { one_home(work, index, profile, opts, mode, keep, None)? })
}

/// [`one_driver_exception`] for the modules of top-level package `top`
/// (`None`: none; only the configured `module:Name` is returned).
#[allow(clippy::too_many_arguments)]
fn one_home(
    work: &mut Vec<Work>,
    index: usize,
    profile: &Profile,
    opts: engine::Options,
    mode: Mode,
    keep: bool,
    top: Option<&Path>,
) -> Result<Option<crate::transforms::ExceptionRef>, String> {
    use crate::pipeline::edits::{Applicability, Edit, Fix, HeaderItem};
    use crate::transforms::driver_load_error::{ID, project};
    use crate::transforms::{ExceptionRef, Finding};
    let effective = &profile.effective;
    let Some(at) = effective.specs.iter().position(|s| s.id == ID) else { return Ok(None) };
    let options = &effective.options[at];
    let value = |key: &str| options.get(key).and_then(|v| v.as_str()).unwrap_or("");
    let name = match ExceptionRef::parse(value("exception")) {
        Ok(ExceptionRef::Name(name)) => name,
        Ok(imported) => return Ok(Some(imported)),
        Err(_) => return Ok(None),
    };
    let defines = |w: &Work| {
        w.outcome.error.is_none()
            && w.outcome.findings.iter().any(|l| {
                l.finding.transform == ID
                    && matches!(&l.finding.kind, FindingKind::Site(fix)
                        if fix.header.iter().any(|h| matches!(h, HeaderItem::Definition { name: n, .. } if *n == name)))
            })
    };
    let in_top = |w: &Work| top.is_some_and(|t| project::top_package(&w.path).as_deref() == Some(t));
    let defining: Vec<usize> =
        (0..work.len()).filter(|&i| work[i].profile == index && in_top(&work[i]) && defines(&work[i])).collect();
    if defining.is_empty() {
        return Ok(None);
    }
    let paths: Vec<PathBuf> = defining.iter().map(|&i| work[i].path.clone()).collect();
    let home = match project::find_home(&paths, &name, &profile.roots) {
        Ok(home) if defining.len() > 1 || home.defines => home,
        // One module: its own definition is the only one.
        _ if defining.len() == 1 => {
            let module = project::module_name(&work[defining[0]].path).map(|(m, _)| m);
            return Ok(module.map(|module| ExceptionRef::Import { module, name }));
        }
        Ok(_) => unreachable!("guarded above"),
        Err(why) => {
            let shown: Vec<String> = paths.iter().map(|p| display_path(p)).collect();
            return Err(format!(
                "{ID}: the driver loaders rewritten in {} modules ({}) would each define their own `{name}`; {why}. \
                 Set `{ID}.exception = \"module:Name\"` (`--driver-exception module:Name`) to an exception they \
                 can all import; nothing was written",
                shown.len(),
                shown.join(", ")
            ));
        }
    };
    let same = |a: &Path, b: &Path| std::path::absolute(a).ok() == std::path::absolute(b).ok();
    let base = match ExceptionRef::parse(value("base")) {
        Ok(ExceptionRef::Name(b)) => b,
        _ if home.defines => String::new(),
        _ => {
            return Err(format!(
                "{ID}: the exception would be defined in `{}` for several modules, but its `base` is imported \
                 (`module:Name`); set `{ID}.exception = \"module:Name\"` instead; nothing was written",
                display_path(&home.path)
            ));
        }
    };
    let mut reconfigured = options.clone();
    reconfigured.insert("exception".into(), toml::Value::String(format!("{}:{name}", home.module)));
    let transform = match crate::transforms::build(ID, &reconfigured) {
        Some(Ok(t)) => t,
        Some(Err(e)) => return Err(e.to_string()),
        None => return Ok(None),
    };
    let exception = ExceptionRef::Import { module: home.module.clone(), name: name.clone() };
    let mut buf = Vec::new();
    for &i in &defining {
        if same(&work[i].path, &home.path) {
            continue;
        }
        let path = work[i].path.clone();
        let outcome = FileOutcome::default();
        let mut w = process_read(&path, profile, Some(transform.as_ref()), opts, mode, keep, outcome, &mut buf);
        w.outcome.parse = work[i].outcome.parse;
        w.profile = index;
        work[i] = w;
    }
    if home.defines || defining.iter().any(|&i| same(&work[i].path, &home.path)) {
        return Ok(Some(exception));
    }
    // The definition, as a site of the home module (the report lists it,
    // `--interactive` asks about it).
    let original = std::fs::read(&home.path)
        .map_err(|e| format!("{}: could not read: {}", display_path(&home.path), walk::describe_io(&e)))?;
    let decoded =
        crate::pipeline::source::Source::decode(&original).map_err(|e| format!("{}: {e}", display_path(&home.path)))?;
    let text = decoded.text.as_ref();
    let indent = crate::pipeline::source::Indent::of(text);
    let addition = project::definition(text, &name, &base, indent.get(), decoded.line_ending.as_str());
    let end = text.len();
    let pos = crate::pipeline::source::line_cols(text, &[end])[0];
    let finding = Finding {
        transform: ID,
        range: end..end,
        message: format!(
            "defines `{name}`, which the driver loaders rewritten in {} modules raise and import from here",
            defining.len()
        ),
        kind: FindingKind::Site(Fix {
            edits: vec![Edit::insert(end, addition.clone())],
            header: Vec::new(),
            applicability: Applicability::Review,
        }),
    };
    let located = engine::Located { finding, start: pos, end: pos, edit_positions: vec![(pos, pos)] };
    let existing = work.iter().position(|w| same(&w.path, &home.path));
    let mut w = match existing {
        Some(i) => work.remove(i),
        None => Work {
            path: home.path.clone(),
            outcome: FileOutcome {
                display: display_path(&home.path),
                parse: ParseKind::Full,
                ..FileOutcome::default()
            },
            original: Vec::new(),
            new: None,
            profile: index,
            spells_exit: false,
        },
    };
    if w.outcome.error.is_some() {
        return Err(format!("{}: {}", display_path(&home.path), w.outcome.error.clone().unwrap_or_default()));
    }
    // Appended to whatever the other rewrites of the file made.
    let before = w.new.clone().unwrap_or_else(|| original.clone());
    let now = crate::pipeline::source::Source::decode(&before)
        .ok()
        .and_then(|s| s.encode(&format!("{}{addition}", s.text)))
        .ok_or_else(|| format!("{}: could not encode the definition", display_path(&home.path)))?;
    if mode == Mode::DryRun {
        w.outcome.diff = Some(diff::unified(&w.outcome.display, &original, &now));
    }
    w.outcome.findings.push(located);
    w.outcome.changed = true;
    w.original = original;
    w.new = Some(now);
    work.push(w);
    Ok(Some(exception))
}

/// What the driver loaders rewritten in profile `index` are, for judging
/// tests and listing callers: the dotted paths of the rewritten module-level
/// functions (and of the module-level functions that call them in their
/// module, from the `caller` notes), and their names.
/// `with_callers: false` leaves the callers out.
pub fn rewritten_loaders(
    work: &[Work],
    index: Option<usize>,
    with_callers: bool,
) -> crate::transforms::driver_load_error::pinned::Rewritten {
    use crate::transforms::driver_load_error::{ID, pinned::Rewritten, project};
    let mut out = Rewritten { targets: Default::default(), names: Default::default() };
    for w in work.iter().filter(|w| index.is_none_or(|i| w.profile == i)) {
        let wanted: Vec<&crate::pipeline::engine::Located> = w
            .outcome
            .findings
            .iter()
            .filter(|l| l.finding.transform == ID)
            .filter(|l| match &l.finding.kind {
                FindingKind::Site(fix) => {
                    !fix.edits.iter().all(|e| e.range.is_empty() && e.range.start > 0)
                        && !l.finding.message.contains("expects the exit of a rewritten driver loader")
                }
                FindingKind::LeftAlone { class, .. } => with_callers && class == "caller",
            })
            .collect();
        if wanted.is_empty() {
            continue;
        }
        let bytes = if w.original.is_empty() { std::fs::read(&w.path).unwrap_or_default() } else { w.original.clone() };
        let Ok(src) = crate::pipeline::source::Source::decode(&bytes) else { continue };
        let Ok(tree) = crate::python::parse::parse(&src.text) else { continue };
        // Outside a regular package: the path from the current directory
        // (a namespace package, `from pkg import utils` for `pkg/utils.py`).
        let module = project::module_name(&w.path).map(|(m, _)| m).or_else(|| {
            let stem = w.outcome.display.strip_suffix(".py")?;
            let ident = |p: &str| {
                !p.is_empty()
                    && p.chars().all(|c| c.is_alphanumeric() || c == '_')
                    && !p.starts_with(|c: char| c.is_ascii_digit())
            };
            stem.split('/').all(ident).then(|| stem.replace('/', "."))
        });
        let offsets: Vec<usize> = wanted.iter().map(|l| l.finding.range.start).collect();
        for at in offsets {
            let Some(leaf) = tree.root_node().descendant_for_byte_range(at, at) else { continue };
            let Some(f) = crate::python::enclosing_function_in(tree.root_node(), leaf) else { continue };
            let q = crate::python::qualified_name(f, &src.text);
            if let Some(last) = q.rsplit('.').next() {
                out.names.insert(last.to_owned());
            }
            if let Some(m) = &module
                && !q.contains('.')
            {
                out.targets.insert(format!("{m}.{q}"));
            }
        }
    }
    out
}

/// Test modules of profile `index` that pin a rewritten loader's exit
/// (`driver_load_error::pinned`): provable assertions now expect
/// `exception`, the others are listed (class `check-test`).
fn pinned_tests(work: &mut [Work], index: usize, exception: Option<&crate::transforms::ExceptionRef>, mode: Mode) {
    use crate::pipeline::edits::Fix;
    use crate::transforms::driver_load_error::pinned;
    // An assertion `pinned` judges is a call of `assertRaises`,
    // `pytest.raises` or `...ExpectedException`: a module spelling none of
    // them has none (and is not parsed).
    let asserts = |bytes: &[u8]| {
        ["assertRaises", "raises", "ExpectedException"]
            .iter()
            .any(|w| memchr::memmem::find(bytes, w.as_bytes()).is_some())
    };
    let candidates: Vec<usize> = (0..work.len())
        .filter(|&i| {
            let w = &work[i];
            w.profile == index && w.spells_exit && w.outcome.error.is_none()
        })
        .filter(|&i| {
            let w = &work[i];
            if w.original.is_empty() { std::fs::read(&w.path).is_ok_and(|b| asserts(&b)) } else { asserts(&w.original) }
        })
        .collect();
    if candidates.is_empty() {
        return;
    }
    let rewritten = rewritten_loaders(work, Some(index), true);
    if rewritten.names.is_empty() {
        return;
    }
    for i in candidates {
        let w = &mut work[i];
        let bytes = if w.original.is_empty() { std::fs::read(&w.path).unwrap_or_default() } else { w.original.clone() };
        let Ok(src) = crate::pipeline::source::Source::decode(&bytes) else { continue };
        let Ok(tree) = crate::python::parse::parse(&src.text) else { continue };
        let indent = crate::pipeline::source::Indent::of(&src.text);
        let ctx = crate::transforms::Ctx::new(&src.text, &tree, &indent, src.line_ending.as_str());
        let mut found = Vec::new();
        // Without a module to import the exception from, or in a file other
        // rewrites changed already, assertions are only listed.
        let placeholder = crate::transforms::ExceptionRef::Name("SystemExit".into());
        pinned::judge(&ctx, &rewritten, exception.unwrap_or(&placeholder), &mut found);
        let rewrite = exception.is_some() && w.new.is_none();
        let found: Vec<crate::transforms::Finding> = found
            .into_iter()
            .map(|f| match f.kind {
                FindingKind::Site(_) if !rewrite => crate::transforms::Finding {
                    kind: FindingKind::LeftAlone {
                        class: pinned::CHECK_TEST.into(),
                        evidence: "expects `SystemExit` from a rewritten driver loader, but tame could not \
                                   rewrite it here: check this test"
                            .into(),
                    },
                    ..f
                },
                _ => f,
            })
            .collect();
        if found.is_empty() {
            continue;
        }
        let offsets: Vec<usize> = found.iter().flat_map(|f| [f.range.start, f.range.end]).collect();
        let pos = crate::pipeline::source::line_cols(&src.text, &offsets);
        let fixes: Vec<&Fix> = found
            .iter()
            .filter_map(|f| match &f.kind {
                FindingKind::Site(fix) => Some(fix),
                FindingKind::LeftAlone { .. } => None,
            })
            .collect();
        if !fixes.is_empty() {
            match engine::apply_selected(&bytes, &fixes, is_package_init(&w.path)) {
                Ok(new) => {
                    if w.outcome.display.is_empty() {
                        w.outcome.display = display_path(&w.path);
                    }
                    if w.original.is_empty() {
                        w.original = bytes.clone();
                    }
                    if mode == Mode::DryRun {
                        w.outcome.diff = Some(diff::unified(&w.outcome.display, &bytes, &new));
                    }
                    w.outcome.changed = true;
                    w.new = Some(new);
                }
                Err(e) => {
                    w.outcome.error = Some(e.to_string());
                    continue;
                }
            }
        }
        for (i, f) in found.into_iter().enumerate() {
            let edit_positions = match &f.kind {
                FindingKind::Site(_) => vec![(pos[2 * i], pos[2 * i + 1])],
                FindingKind::LeftAlone { .. } => Vec::new(),
            };
            w.outcome.findings.push(engine::Located {
                finding: f,
                start: pos[2 * i],
                end: pos[2 * i + 1],
                edit_positions,
            });
        }
        w.outcome.findings.sort_by_key(|l| l.finding.range.start);
    }
}

/// Writes every changed file, refusing dirty ones unless `allow_dirty`.
pub fn write_changes(work: &mut [Work], allow_dirty: bool) {
    let changed: Vec<PathBuf> = work.iter().filter(|w| w.new.is_some()).map(|w| w.path.clone()).collect();
    let dirty = if allow_dirty || changed.is_empty() { Default::default() } else { write::dirty_files(&changed) };
    for w in work.iter_mut() {
        let Some(new) = w.new.take() else { continue };
        if dirty.contains(&w.path) {
            w.outcome.changed = false;
            w.outcome.error = Some(
                "has uncommitted changes in git; not written (commit or stash first, or pass --allow-dirty)".into(),
            );
            continue;
        }
        if let Err(e) = write::write_atomic(&w.path, &w.original, &new) {
            w.outcome.changed = false;
            w.outcome.error = Some(e.to_string());
        }
    }
}

/// Prints errors and the summary; returns the exit code.
pub fn finish(processed: &RunResult, mode: Mode, quiet: bool, verbose: bool, err: &mut impl Write) -> u8 {
    if verbose {
        let _ = writeln!(
            err,
            "tame: {} files prefiltered out, {} parsed partially, {} parsed whole",
            processed.parse_counts[0], processed.parse_counts[1], processed.parse_counts[2]
        );
    }
    let mut summary = Summary { scanned: processed.scanned, symlinks: processed.symlinks, ..Summary::default() };
    let mut errors = processed.walk_errors.len();
    for (path, message) in &processed.walk_errors {
        let _ = writeln!(err, "tame: {path}: {message}");
    }
    for w in &processed.work {
        let o = &w.outcome;
        if let Some(e) = &o.error {
            errors += 1;
            let _ = writeln!(err, "tame: {}: {e}", o.display);
        }
        let mut has_unparsed = false;
        for l in &o.findings {
            let FindingKind::LeftAlone { class, evidence } = &l.finding.kind else { continue };
            let (line, col) = l.start;
            if class == crate::pipeline::suppress::INVALID && !quiet {
                let _ = writeln!(err, "tame: warning: {}:{line}:{col}: {evidence}", o.display);
            } else if class == crate::pipeline::unparsed::CLASS {
                has_unparsed = true;
                if verbose {
                    let _ = writeln!(err, "tame: {}:{line}:{col}: {evidence}", o.display);
                }
            }
        }
        summary.unparsed += usize::from(has_unparsed);
        // `check` does not apply fixes: a file is "to change" if it has a site.
        let has_site = o.findings.iter().any(|l| matches!(l.finding.kind, FindingKind::Site(_)));
        summary.changed += usize::from(if mode == Mode::Check { has_site } else { o.changed });
        for l in &o.findings {
            if matches!(l.finding.kind, FindingKind::Site(_)) {
                *summary.sites.entry(l.finding.transform).or_default() += 1;
            }
        }
    }
    summary.errors = errors;
    let verb = match mode {
        Mode::Check => "to change",
        Mode::DryRun => "would change",
        Mode::Write => "changed",
    };
    if !quiet {
        let _ = writeln!(err, "{}", summary.line(verb));
    }
    if errors > 0 {
        exit_code::ERROR
    } else if mode == Mode::Check && summary.sites.values().sum::<usize>() > 0 {
        exit_code::SITES_FOUND
    } else {
        exit_code::SUCCESS
    }
}

/// Whether `path` is a package's `__init__.py` (its imports may be re-exports).
pub(crate) fn is_package_init(path: &Path) -> bool {
    path.file_name().is_some_and(|n| n == "__init__.py")
}
