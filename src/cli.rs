//! Command-line definitions (clap) and their translation into a [`Config`].

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::config::{self, ConfigError, Effective, FileConfig, Overrides};

#[derive(Debug, Parser)]
#[command(
    name = "tame",
    version,
    about = "Rewrite risky Python patterns at scale: unbounded wait loops become bounded retries, \
             SystemExit in driver loading becomes a typed exception.",
    after_help = crate::exit_code::HELP
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
    /// Show a transform's documentation and options.
    Explain {
        /// The transform id, e.g. bounded-retry.
        id: String,
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
    #[command(flatten)]
    pub common: Common,
}

#[derive(Debug, Args)]
pub struct Common {
    /// Files or directories (default: the current directory).
    pub paths: Vec<PathBuf>,
    /// Run only these transforms (comma-separated ids).
    #[arg(long, value_delimiter = ',', value_name = "ID")]
    pub only: Vec<String>,
    /// Skip these transforms (comma-separated ids).
    #[arg(long, value_delimiter = ',', value_name = "ID")]
    pub skip: Vec<String>,
    /// bounded-retry: most iterations of a rewritten loop.
    #[arg(long, value_name = "N")]
    pub max_attempts: Option<String>,
    /// bounded-retry: most seconds a rewritten loop may run.
    #[arg(long, value_name = "SECONDS")]
    pub deadline: Option<String>,
    /// bounded-retry: "raise" or "break" when the budget is spent.
    #[arg(long, value_name = "ACTION")]
    pub on_exhaust: Option<String>,
    /// bounded-retry: exception raised when the budget is spent (`TimeoutError` or `module:Name`).
    #[arg(long, value_name = "EXC")]
    pub exception: Option<String>,
    /// bounded-retry: more functions that sleep, comma-separated (`self._sleep,handler.sleep`).
    #[arg(long, value_name = "NAMES")]
    pub sleep_functions: Option<String>,
    /// driver-load-error: the exception to raise (`DriverLoadError`, generated, or `module:Name`).
    #[arg(long, value_name = "EXC")]
    pub driver_exception: Option<String>,
    /// Set any transform option: ID.OPTION=VALUE (lists are comma-separated).
    #[arg(long = "set", value_name = "ID.OPTION=VALUE")]
    pub set: Vec<String>,
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
    /// The command-line settings that override configuration files.
    pub fn overrides(&self) -> Result<Overrides, ConfigError> {
        let mut options: Vec<(String, String, String)> = Vec::new();
        let flags = [
            ("bounded-retry", "max_attempts", &self.max_attempts),
            ("bounded-retry", "deadline", &self.deadline),
            ("bounded-retry", "on_exhaust", &self.on_exhaust),
            ("bounded-retry", "exception", &self.exception),
            ("bounded-retry", "sleep_functions", &self.sleep_functions),
            ("driver-load-error", "exception", &self.driver_exception),
        ];
        for (id, option, value) in flags {
            if let Some(v) = value {
                options.push((id.into(), option.into(), v.clone()));
            }
        }
        for s in &self.set {
            let bad = || ConfigError::Cli(format!("`--set {s}`: expected ID.OPTION=VALUE"));
            let (key, value) = s.split_once('=').ok_or_else(bad)?;
            let (id, option) = key.split_once('.').ok_or_else(bad)?;
            options.push((id.into(), option.into(), value.into()));
        }
        Ok(Overrides { only: self.only.clone(), skip: self.skip.clone(), options })
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
