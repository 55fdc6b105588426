//! Command-line definitions (clap) and their translation into a [`Config`].

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::app::config::{self, ConfigError, Effective, FileConfig, Overrides};

#[derive(Debug, Parser)]
#[command(
    name = "tame",
    version,
    about = "Rewrite risky Python patterns at scale: unbounded wait loops become bounded retries, \
             SystemExit in driver loading becomes a typed exception.",
    after_help = crate::app::exit_code::HELP
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Rewrite files in place (or preview the changes as a unified diff with --dry-run).
    Fix(FixArgs),
    /// Report the sites a transform would change; exit 1 if there are any.
    Check(CheckArgs),
    /// List the transforms.
    Transforms,
    /// Show a transform's documentation and options (no id: list the transforms).
    Explain {
        /// The transform id, e.g. bounded-retry.
        id: Option<String>,
    },
    /// Print the effective configuration and where each value came from.
    Config {
        #[command(flatten)]
        common: Common,
    },
    /// Print the syntax tree of a file (for writing queries).
    #[command(hide = true)]
    ParseTree { path: PathBuf },
}

#[derive(Debug, Args)]
pub struct FixArgs {
    /// Change nothing; print a unified diff of every change to stdout.
    #[arg(long)]
    pub dry_run: bool,
    /// Colour the diff: auto (only when stdout is a terminal), always, never.
    #[arg(long, value_enum, default_value_t = Color::Auto)]
    pub color: Color,
    /// Write files even if git shows uncommitted changes in them.
    #[arg(long)]
    pub allow_dirty: bool,
    /// Show each change and ask whether to apply it (y/n/a/q), like `git add -p`.
    #[arg(long, conflicts_with = "dry_run")]
    pub interactive: bool,
    /// Write a Markdown migration report (a pull-request description) to FILE.
    #[arg(long, value_name = "FILE")]
    pub report: Option<PathBuf>,
    /// With --dry-run: write the diff to FILE instead of stdout.
    #[arg(long, value_name = "FILE", requires = "dry_run")]
    pub output_file: Option<PathBuf>,
    #[command(flatten)]
    pub common: Common,
}

#[derive(Debug, Args)]
pub struct CheckArgs {
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
    /// Also list the candidates left alone, with their class and evidence.
    #[arg(long)]
    pub explain: bool,
    /// Exit 0 even when sites are found (errors still exit 2).
    #[arg(long)]
    pub exit_zero: bool,
    /// Print one line per transform and class (count, transform, class,
    /// fixable count) instead of one line per site (text and json formats).
    #[arg(long)]
    pub statistics: bool,
    /// Write the output (any format) to FILE instead of stdout; the summary stays on stderr.
    #[arg(long, value_name = "FILE")]
    pub output_file: Option<PathBuf>,
    #[command(flatten)]
    pub common: Common,
}

#[derive(Debug, Args)]
pub struct Common {
    /// Files or directories (default: the current directory); `-` reads one
    /// module from stdin.
    pub paths: Vec<PathBuf>,
    /// Apply the configuration's include/exclude also to files named on the
    /// command line (and to --stdin-filename), as pre-commit needs.
    #[arg(long)]
    pub force_exclude: bool,
    /// The path of the module read from stdin: for configuration discovery,
    /// per-file-ignores, include/exclude and messages. Implies `-` when no path is given.
    #[arg(long, value_name = "PATH")]
    pub stdin_filename: Option<PathBuf>,
    /// Run only these transforms (comma-separated ids).
    #[arg(long, value_delimiter = ',', value_name = "ID")]
    pub only: Vec<String>,
    /// Skip these transforms (comma-separated ids).
    #[arg(long, value_delimiter = ',', value_name = "ID")]
    pub skip: Vec<String>,
    /// One flag per transform option whose spec names a `cli` flag.
    #[command(flatten)]
    pub transform_flags: TransformFlags,
    /// Set any transform option: ID.OPTION=VALUE (lists are comma-separated).
    #[arg(long = "set", value_name = "ID.OPTION=VALUE")]
    pub set: Vec<String>,
    /// The longest line a rewrite may write (default: the project's flake8,
    /// ruff or black setting nearest each file, else 79).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u16).range(1..))]
    pub line_length: Option<u16>,
    /// Use this configuration file instead of discovering one.
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Ignore configuration files.
    #[arg(long, conflicts_with = "config")]
    pub isolated: bool,
    /// Print only errors (no summary line).
    #[arg(long, short, conflicts_with = "verbose")]
    pub quiet: bool,
    /// Also print each file as it is processed, and the configuration used.
    #[arg(long, short)]
    pub verbose: bool,
    /// Worker threads (default: the number of cores).
    #[arg(long, value_name = "N")]
    pub threads: Option<usize>,
    /// Parse every file, even those without the transforms' trigger literals (for benchmarks).
    #[arg(long, hide = true)]
    pub no_prefilter: bool,
    /// Parse whole files, never only the blocks that can hold a candidate (for tests and benchmarks).
    #[arg(long, hide = true)]
    pub no_partial: bool,
    /// The reference mode: no shortcut at all (every file decoded and parsed
    /// whole, every query run on the whole tree), and every site checked
    /// against the transforms' hints (for tests and oracles).
    #[arg(long, hide = true)]
    pub no_shortcuts: bool,
}

/// The flags of the transforms' options, made from their specs (an
/// option's `cli` key), so a transform adds a flag without touching this
/// file: `--max-attempts 5` sets `bounded-retry.max_attempts`.
#[derive(Debug, Clone, Default)]
pub struct TransformFlags {
    /// (transform id, option name, value), in command-line order of the specs.
    pub values: Vec<(String, String, String)>,
}

impl TransformFlags {
    /// Every (spec, option) with a flag.
    fn flags() -> impl Iterator<Item = (&'static crate::transforms::Spec, &'static crate::transforms::OptionSpec)> {
        crate::transforms::specs()
            .iter()
            .flat_map(|s| s.options.iter().filter(|o| o.cli.is_some()).map(move |o| (s, o)))
    }

    /// The clap id of a flag: the transform and the option, so two specs
    /// cannot share one silently (clap rejects a repeated `--long`).
    fn arg_id(spec: &crate::transforms::Spec, option: &crate::transforms::OptionSpec) -> String {
        format!("{}.{}", spec.id, option.name)
    }
}

impl clap::FromArgMatches for TransformFlags {
    fn from_arg_matches(matches: &clap::ArgMatches) -> Result<Self, clap::Error> {
        let mut flags = TransformFlags::default();
        flags.update_from_arg_matches(matches)?;
        Ok(flags)
    }

    fn update_from_arg_matches(&mut self, matches: &clap::ArgMatches) -> Result<(), clap::Error> {
        for (spec, option) in TransformFlags::flags() {
            if let Some(v) = matches.get_one::<String>(&TransformFlags::arg_id(spec, option)) {
                self.values.push((spec.id.clone(), option.name.clone(), v.clone()));
            }
        }
        Ok(())
    }
}

impl Args for TransformFlags {
    fn augment_args(mut cmd: clap::Command) -> clap::Command {
        for (spec, option) in TransformFlags::flags() {
            let flag = option.cli.as_deref().unwrap_or_default();
            // The first sentence of the option's doc; `tame explain ID` has all of it.
            let doc = option.doc.split_inclusive(". ").next().unwrap_or(&option.doc).trim_end();
            cmd = cmd.arg(
                clap::Arg::new(TransformFlags::arg_id(spec, option))
                    .long(flag.trim_start_matches("--"))
                    .value_name(option.name.to_ascii_uppercase())
                    .help(format!("{}: {doc}", spec.id)),
            );
        }
        cmd
    }

    fn augment_args_for_update(cmd: clap::Command) -> clap::Command {
        TransformFlags::augment_args(cmd)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Color {
    Auto,
    Always,
    Never,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    Text,
    Json,
    Sarif,
    Github,
}

impl Common {
    /// The shortcuts the pipeline may take.
    pub fn shortcuts(&self) -> crate::pipeline::engine::Shortcuts {
        if self.no_shortcuts {
            return crate::pipeline::engine::Shortcuts::NONE;
        }
        crate::pipeline::engine::Shortcuts {
            prefilter: !self.no_prefilter,
            partial: !self.no_partial,
            ..crate::pipeline::engine::Shortcuts::ALL
        }
    }

    /// The command-line settings that override configuration files.
    pub fn overrides(&self) -> Result<Overrides, ConfigError> {
        let mut options: Vec<(String, String, String)> = self.transform_flags.values.clone();
        for s in &self.set {
            let bad = || ConfigError::Cli(format!("`--set {s}`: expected ID.OPTION=VALUE"));
            let (key, value) = s.split_once('=').ok_or_else(bad)?;
            let (id, option) = key.split_once('.').ok_or_else(bad)?;
            options.push((id.into(), option.into(), value.into()));
        }
        Ok(Overrides {
            only: self.only.clone(),
            skip: self.skip.clone(),
            options,
            line_length: self.line_length.map(usize::from),
        })
    }

    /// The effective configuration for `start` (or `--config`, or none with `--isolated`).
    pub fn effective(&self, start: &std::path::Path) -> Result<Effective, ConfigError> {
        let file = if self.isolated {
            FileConfig { dir: std::env::current_dir().unwrap_or_default(), ..FileConfig::default() }
        } else if let Some(path) = &self.config {
            let pyproject = path.file_name().is_some_and(|n| n == "pyproject.toml");
            let cfg = config::load(path, pyproject)?;
            if cfg.path.is_none() {
                return Err(ConfigError::Cli(format!("{}: has no [tool.tame] table", path.display())));
            }
            cfg
        } else {
            config::discover(start)?
        };
        Effective::new(file, &self.overrides()?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::transforms;
    use clap::CommandFactory;

    #[test]
    fn cli_is_well_formed() {
        Cli::command().debug_assert();
    }

    #[test]
    fn spec_cli_flags_exist() {
        let cmd = Cli::command();
        let check = cmd.find_subcommand("check").unwrap();
        for spec in transforms::specs() {
            for o in &spec.options {
                if let Some(flag) = &o.cli {
                    let long = flag.trim_start_matches("--");
                    assert!(check.get_arguments().any(|a| a.get_long() == Some(long)), "{flag} is not a CLI flag");
                }
            }
        }
    }

    #[test]
    fn override_errors() {
        let parse = |args: &[&str]| {
            let cli = Cli::try_parse_from(args).unwrap();
            let Command::Check(a) = cli.command else { unreachable!() };
            a.common.effective(std::path::Path::new("/nonexistent")).err().map(|e| e.to_string())
        };
        assert_eq!(
            parse(&["tame", "check", "--isolated", "--only", "nope"]).unwrap(),
            "unknown transform `nope` (see `tame transforms`)"
        );
        assert_eq!(
            parse(&["tame", "check", "--isolated", "--max-attempts", "x"]).unwrap(),
            "option `bounded-retry.max_attempts`: expected integer, got `x`"
        );
        assert_eq!(
            parse(&["tame", "check", "--isolated", "--set", "x"]).unwrap(),
            "`--set x`: expected ID.OPTION=VALUE"
        );
        assert_eq!(parse(&["tame", "check", "--isolated", "--set", "bounded-retry.max_attempts=3"]), None);
    }
}
