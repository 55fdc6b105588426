//! tame: rewrite risky Python patterns at scale, with diffs a reviewer can trust.
//!
//! The folders follow the pipeline:
//! - [`app`]: the command line ([`app::cli`], [`app::config`]), finding
//!   files ([`app::walk`]), running files in parallel ([`app::runner`]),
//!   interactive review, exit codes. [`run`] ties them together.
//! - [`pipeline`]: one file's journey ([`pipeline::engine`]): decode
//!   ([`pipeline::source`]), prefilter, parse, run the transforms, apply
//!   their [`pipeline::edits`] to a fixpoint, [`pipeline::verify`]; the
//!   shortcut [`pipeline::oracle`].
//! - [`partial`]: partial parsing, the top-level blocks that can hold a site.
//! - [`python`]: parsing and facts about Python code (bindings, names, the
//!   import header).
//! - [`transforms`]: the registry, the specs and their hints, `Ctx`, and one
//!   module per transform.
//! - [`emit`]: diffs, text/JSON/SARIF output, reports, atomic writes.

pub mod app;
pub(crate) mod emit;
pub(crate) mod partial;
pub mod pipeline;
pub mod python;
pub mod transforms;

use std::io::{IsTerminal, Write};
use std::path::{Component, Path};

use anyhow::Result;

use app::cli::{Cli, Color, Command, Common, Format};
use app::{exit_code, interactive, runner, walk};
use emit::{diff, output, report, sarif, statistics};
use python::parse;
use runner::Mode;

/// Runs the CLI; returns the exit code. I/O errors on stdout (such as a
/// broken pipe) are returned as errors for `main` to map.
pub fn run(cli: Cli) -> Result<u8> {
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    let code = match cli.command {
        // `explain` without an id lists the transforms, as `transforms` does.
        Command::Transforms | Command::Explain { id: None } => {
            list_transforms(&mut out)?;
            exit_code::SUCCESS
        }
        Command::Explain { id: Some(id) } => match transforms::spec(&id) {
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
        Command::Config { common } => match runner::profiles(&common) {
            Ok(profiles) => {
                for p in &profiles {
                    // `.` is displayed as nothing; the line must not end with a space.
                    let shown =
                        |r: &Path| Some(display_path(r)).filter(|d| !d.is_empty()).unwrap_or_else(|| ".".into());
                    let roots: Vec<String> = p.roots.iter().map(|r| shown(r)).collect();
                    writeln!(out, "# paths: {}", roots.join(" "))?;
                    write!(out, "{}", p.effective.render())?;
                }
                exit_code::SUCCESS
            }
            Err(e) => {
                eprintln!("tame: {e}");
                exit_code::ERROR
            }
        },
        Command::Check(args) => {
            let format = args.format;
            let explain = args.explain;
            if args.statistics && matches!(format, Format::Sarif | Format::Github) {
                eprintln!("tame: --statistics prints text or json, not another format");
                return Ok(exit_code::ERROR);
            }
            // Only these outputs show the candidates left alone.
            let show_left_alone = explain || format == Format::Json;
            let mut sink = match output_to(&mut out, args.output_file.as_deref()) {
                Ok(sink) => sink,
                Err(code) => return Ok(code),
            };
            let code =
                run_files(&mut sink, &args.common, Mode::Check, false, show_left_alone, |out, processed, _, _| {
                    let files: Vec<&output::FileOutcome> = processed.work.iter().map(|w| &w.outcome).collect();
                    if args.statistics {
                        let rows = statistics::rows(&files, show_left_alone);
                        return match format {
                            Format::Json => statistics::json(out, &rows),
                            _ => statistics::text(out, &rows),
                        };
                    }
                    match format {
                        Format::Text => output::check_text(out, &files, explain),
                        Format::Json => output::check_json(out, &files, &processed.walk_errors),
                        Format::Sarif => sarif::write(out, &files),
                        Format::Github => output::check_github(out, &files),
                    }
                })?;
            if args.exit_zero && code == exit_code::SITES_FOUND { exit_code::SUCCESS } else { code }
        }
        Command::Fix(args) => {
            let mode = if args.dry_run { Mode::DryRun } else { Mode::Write };
            let color = match args.color {
                Color::Always => true,
                Color::Never => false,
                Color::Auto => args.output_file.is_none() && std::io::stdout().is_terminal(),
            };
            if app::stdin::requested(&args.common) && (args.interactive || args.report.is_some()) {
                // `--interactive` reads its answers from stdin; a report describes files on disk.
                eprintln!("tame: `--interactive` and `--report` do not combine with a module read from stdin");
                return Ok(exit_code::ERROR);
            }
            let keep = args.report.is_some() || args.interactive;
            let mut sink = match output_to(&mut out, args.output_file.as_deref()) {
                Ok(sink) => sink,
                Err(code) => return Ok(code),
            };
            // The report lists the candidates left alone; a diff does not.
            let report = args.report.is_some();
            run_files(&mut sink, &args.common, mode, keep, report, |out, processed, profiles, stdin| {
                if args.interactive {
                    let stdin = std::io::stdin();
                    interactive::review(&mut processed.work, out, &mut stdin.lock(), color)?;
                }
                if let (Some(source), Mode::Write) = (stdin, mode) {
                    // The whole module, changed or not (as `ruff check --fix -`): nothing on disk is written.
                    let new = processed.work.first().and_then(|w| w.new.as_deref());
                    return out.write_all(new.unwrap_or(source));
                }
                if mode == Mode::Write {
                    runner::write_changes(&mut processed.work, args.allow_dirty);
                }
                for w in &processed.work {
                    if let Some(d) = &w.outcome.diff {
                        out.write_all(&if color { diff::colorize(d) } else { d.clone() })?;
                    }
                }
                if let Some(path) = &args.report {
                    let text = report::render(processed, profiles, mode);
                    if let Err(e) = std::fs::write(path, text) {
                        eprintln!("tame: {}: could not write the report: {}", path.display(), walk::describe_io(&e));
                        processed.walk_errors.push((display_path(path), "could not write the report".into()));
                    }
                }
                Ok(())
            })?
        }
    };
    out.flush()?;
    Ok(code)
}

/// `tame transforms` (and `tame explain` without an id): one line per transform.
fn list_transforms(out: &mut impl Write) -> std::io::Result<()> {
    for s in transforms::specs() {
        writeln!(out, "{:<20} {}", s.id, s.summary)?;
    }
    Ok(())
}

/// Where `check` and `fix --dry-run` print: `--output-file FILE`, else
/// stdout. `Err` (the exit code) when FILE cannot be created.
fn output_to<'a>(stdout: &'a mut dyn Write, file: Option<&Path>) -> Result<Box<dyn Write + 'a>, u8> {
    let Some(path) = file else { return Ok(Box::new(stdout)) };
    match std::fs::File::create(path) {
        Ok(f) => Ok(Box::new(std::io::BufWriter::new(f))),
        Err(e) => {
            eprintln!("tame: {}: could not create the output file: {}", display_path(path), walk::describe_io(&e));
            Err(exit_code::ERROR)
        }
    }
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

/// Resolves configuration, processes every file (or the module read from
/// stdin), lets `emit` print (and write; it gets the stdin source, if that
/// was read), then prints errors and the summary.
fn run_files<W: Write>(
    out: &mut W,
    common: &Common,
    mode: Mode,
    keep_originals: bool,
    show_left_alone: bool,
    emit: impl FnOnce(&mut W, &mut runner::RunResult, &[runner::Profile], Option<&[u8]>) -> std::io::Result<()>,
) -> Result<u8> {
    if let Some(why) = app::stdin::misuse(common) {
        eprintln!("tame: {why}");
        return Ok(exit_code::ERROR);
    }
    let verbose = |profiles: &[runner::Profile]| {
        for p in profiles.iter().filter(|_| common.verbose) {
            let file = p.effective.file.path.as_deref().map(display_path).unwrap_or_else(|| "none".into());
            eprintln!("tame: configuration file: {file}");
        }
    };
    let (profiles, mut processed, source) = if app::stdin::requested(common) {
        match app::stdin::process(common, mode, show_left_alone, &mut std::io::stdin().lock()) {
            Ok(run) => {
                verbose(&run.profiles);
                (run.profiles, run.result, Some(run.source))
            }
            Err(e) => {
                eprintln!("tame: {e}");
                return Ok(exit_code::ERROR);
            }
        }
    } else {
        let profiles = match runner::profiles(common) {
            Ok(p) => p,
            Err(e) => {
                eprintln!("tame: {e}");
                return Ok(exit_code::ERROR);
            }
        };
        verbose(&profiles);
        let processed = runner::process_all(common, &profiles, mode, keep_originals, show_left_alone);
        (profiles, processed, None)
    };
    emit(out, &mut processed, &profiles, source.as_deref())?;
    out.flush()?;
    Ok(runner::finish(&processed, mode, common.quiet, common.verbose, &mut std::io::stderr().lock()))
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
