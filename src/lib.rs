//! tame: rewrite risky Python patterns at scale, with diffs a reviewer can trust.
//!
//! The pipeline, one module per step:
//! [`walk`] finds files, [`source`] decodes them, [`engine`] prefilters,
//! [`parse`]s, runs the [`transforms`] and applies their [`edits`] to a
//! fixpoint, [`verify`] re-parses the result, and [`diff`], [`output`] and
//! [`write`] emit it. [`run`] ties them together for the CLI.

pub mod cli;
pub mod diff;
pub mod edits;
pub mod engine;
pub mod exit_code;
pub mod output;
pub mod parse;
pub mod python;
pub mod source;
pub mod transforms;
pub mod verify;
pub mod walk;
pub mod write;

use std::io::{IsTerminal, Write};
use std::path::{Component, Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use anyhow::Result;

use cli::{Cli, Color, Command, Common, Format};
use output::{FileOutcome, Summary};
use transforms::{FindingKind, Transform};

/// What a file run is asked to do.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Mode {
    Check,
    DryRun,
    Write,
}

/// Runs the CLI; returns the exit code. I/O errors on stdout (such as a
/// broken pipe) are returned as errors for `main` to map.
pub fn run(cli: Cli) -> Result<u8> {
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    let code = match cli.command {
        Command::Transforms => {
            for s in transforms::specs() {
                writeln!(out, "{:<20} {}", s.id, s.summary)?;
            }
            exit_code::SUCCESS
        }
        Command::Explain { id } => match transforms::spec(&id) {
            Some(spec) => {
                write!(out, "{}", explain(spec))?;
                exit_code::SUCCESS
            }
            None => {
                eprintln!("tame: unknown transform `{id}` (see `tame transforms`)");
                exit_code::ERROR
            }
        },
        Command::ParseTree { path } => {
            let text = std::fs::read_to_string(&path)?;
            let tree = parse::parse(&text)?;
            writeln!(out, "{}", tree.root_node().to_sexp())?;
            exit_code::SUCCESS
        }
        Command::Check(args) => {
            let mode = Mode::Check;
            run_files(&mut out, &args.common, mode, |out, files, walk_errors| match args.format {
                Format::Text => output::check_text(out, files, args.explain),
                Format::Json => output::check_json(out, files, walk_errors),
            })?
        }
        Command::Fix(args) => {
            let mode = if args.dry_run { Mode::DryRun } else { Mode::Write };
            let color = match args.color {
                Color::Always => true,
                Color::Never => false,
                Color::Auto => std::io::stdout().is_terminal(),
            };
            let allow_dirty = args.allow_dirty;
            run_files_fix(&mut out, &args.common, mode, color, allow_dirty)?
        }
    };
    out.flush()?;
    Ok(code)
}

/// `tame explain ID`.
pub fn explain(spec: &transforms::Spec) -> String {
    let d = &spec.docs;
    let mut s =
        format!("{}: {}\n\n## What it does\n{}\n\n## Why\n{}\n\n", spec.id, spec.summary, d.what.trim(), d.why.trim());
    s.push_str(&format!("## Example\nBefore:\n{}\n\nAfter:\n{}\n\n", indent(&d.before), indent(&d.after)));
    s.push_str(&format!("## Fix safety\n{}\n", d.fix_safety.trim()));
    if let Some(c) = &d.callers {
        s.push_str(&format!("\n## What changes for callers\n{}\n", c.trim()));
    }
    s.push_str("\n## Options\n");
    for o in &spec.options {
        let flag = o.cli.as_deref().map(|f| format!(", {f}")).unwrap_or_default();
        s.push_str(&format!("  {} ({}{flag}; default: {})\n      {}\n", o.name, o.kind.name(), o.default, o.doc));
    }
    s
}

fn indent(code: &str) -> String {
    code.trim_matches('\n').lines().map(|l| format!("    {l}")).collect::<Vec<_>>().join("\n")
}

type Printer<'a, W> = dyn FnMut(&mut W, &[FileOutcome], &[(String, String)]) -> std::io::Result<()> + 'a;

fn run_files<W: Write>(
    out: &mut W,
    common: &Common,
    mode: Mode,
    mut print: impl FnMut(&mut W, &[FileOutcome], &[(String, String)]) -> std::io::Result<()>,
) -> Result<u8> {
    run_files_inner(out, common, mode, false, false, &mut print)
}

fn run_files_fix<W: Write>(out: &mut W, common: &Common, mode: Mode, color: bool, allow_dirty: bool) -> Result<u8> {
    let mut print = |out: &mut W, files: &[FileOutcome], _: &[(String, String)]| -> std::io::Result<()> {
        for f in files {
            if let Some(d) = &f.diff {
                if color {
                    out.write_all(&diff::colorize(d))?;
                } else {
                    out.write_all(d)?;
                }
            }
        }
        Ok(())
    };
    run_files_inner(out, common, mode, color, allow_dirty, &mut print)
}

/// A processed file before output: its outcome plus what writing needs.
struct Work {
    path: PathBuf,
    outcome: FileOutcome,
    original: Vec<u8>,
    new: Option<Vec<u8>>,
}

fn run_files_inner<W: Write>(
    out: &mut W,
    common: &Common,
    mode: Mode,
    _color: bool,
    allow_dirty: bool,
    print: &mut Printer<'_, W>,
) -> Result<u8> {
    let selection = match common.selection() {
        Ok(s) => s,
        Err(e) => {
            eprintln!("tame: {e}");
            return Ok(exit_code::ERROR);
        }
    };
    let transforms: Vec<Box<dyn Transform>> = selection
        .specs
        .iter()
        .zip(&selection.options)
        .map(|(s, o)| transforms::build(&s.id, o).expect("selected").expect("validated"))
        .collect();
    let threads = common.threads.unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get())).max(1);
    let roots = if common.paths.is_empty() { vec![PathBuf::from(".")] } else { common.paths.clone() };
    let walked = walk::collect(&roots, threads);
    let opts = engine::Options { prefilter: !common.no_prefilter };

    let next = AtomicUsize::new(0);
    let results: Mutex<Vec<(usize, Work)>> = Mutex::new(Vec::with_capacity(walked.files.len()));
    std::thread::scope(|scope| {
        for _ in 0..threads.min(walked.files.len().max(1)) {
            scope.spawn(|| {
                let mut local = Vec::new();
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(path) = walked.files.get(i) else { break };
                    local.push((i, process_path(path, &transforms, opts, mode)));
                }
                results.lock().expect("no panics while locked").extend(local);
            });
        }
    });
    let mut work: Vec<Work> = {
        let mut r = results.into_inner().expect("no panics while locked");
        r.sort_by_key(|(i, _)| *i);
        r.into_iter().map(|(_, w)| w).collect()
    };
    work.sort_by(|a, b| a.outcome.display.cmp(&b.outcome.display));

    if mode == Mode::Write {
        write_changes(&mut work, allow_dirty);
    }

    let mut summary = Summary { scanned: work.len(), symlinks: walked.symlinks, ..Summary::default() };
    let walk_errors: Vec<(String, String)> =
        walked.errors.iter().map(|e| (display_path(&e.path), e.message.clone())).collect();
    let mut errors = walk_errors.len();
    let outcomes: Vec<FileOutcome> = work.into_iter().map(|w| w.outcome).collect();
    for o in &outcomes {
        if o.error.is_some() {
            errors += 1;
        }
        if o.changed {
            summary.changed += 1;
        }
        for l in &o.findings {
            if matches!(l.finding.kind, FindingKind::Site(_)) {
                *summary.sites.entry(l.finding.transform).or_default() += 1;
            }
        }
    }
    summary.errors = errors;
    print(out, &outcomes, &walk_errors)?;
    out.flush()?;
    for (path, message) in &walk_errors {
        eprintln!("tame: {path}: {message}");
    }
    for o in &outcomes {
        if let Some(e) = &o.error {
            eprintln!("tame: {}: {e}", o.display);
        }
    }
    let verb = match mode {
        Mode::Check => "to change",
        Mode::DryRun => "would change",
        Mode::Write => "changed",
    };
    eprintln!("{}", summary.line(verb));
    Ok(if errors > 0 {
        exit_code::ERROR
    } else if mode == Mode::Check && summary.sites.values().sum::<usize>() > 0 {
        exit_code::SITES_FOUND
    } else {
        exit_code::SUCCESS
    })
}

fn process_path(path: &Path, transforms: &[Box<dyn Transform>], opts: engine::Options, mode: Mode) -> Work {
    let display = display_path(path);
    let mut outcome = FileOutcome { display, findings: Vec::new(), diff: None, changed: false, error: None };
    let original = match std::fs::read(path) {
        Ok(b) => b,
        Err(e) => {
            outcome.error = Some(format!("could not read: {}", walk::describe_io(&e)));
            return Work { path: path.to_path_buf(), outcome, original: Vec::new(), new: None };
        }
    };
    let mut new = None;
    match engine::process(&original, transforms, opts) {
        Ok(p) => {
            outcome.findings = p.findings;
            if let Some(bytes) = p.output {
                outcome.changed = true;
                if mode == Mode::DryRun {
                    outcome.diff = Some(diff::unified(&outcome.display, &original, &bytes));
                }
                new = Some(bytes);
            }
        }
        Err(e) => outcome.error = Some(e.to_string()),
    }
    let keep_original = if new.is_some() && mode == Mode::Write { original } else { Vec::new() };
    Work { path: path.to_path_buf(), outcome, original: keep_original, new }
}

fn write_changes(work: &mut [Work], allow_dirty: bool) {
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

/// A path as shown to users and in diff headers: relative to the current
/// directory when it is inside it, without `./`.
pub fn display_path(path: &Path) -> String {
    let rel = if path.is_absolute() {
        std::env::current_dir().ok().and_then(|cwd| path.strip_prefix(cwd).ok().map(Path::to_path_buf))
    } else {
        None
    };
    let p = rel.as_deref().unwrap_or(path);
    let parts: Vec<String> = p
        .components()
        .filter(|c| !matches!(c, Component::CurDir))
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect();
    if p.is_absolute() && rel.is_none() {
        return p.to_string_lossy().into_owned();
    }
    parts.join("/")
}
