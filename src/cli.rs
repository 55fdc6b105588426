//! Command-line definitions (clap) and their translation into a [`Config`].

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};
use thiserror::Error;

use crate::transforms::{self, OptionValues, Spec};

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
    /// driver-load-error: the exception to raise (`DriverLoadError`, generated, or `module:Name`).
    #[arg(long, value_name = "EXC")]
    pub driver_exception: Option<String>,
    /// Set any transform option: ID.OPTION=VALUE (lists are comma-separated).
    #[arg(long = "set", value_name = "ID.OPTION=VALUE")]
    pub set: Vec<String>,
    /// Worker threads (default: the number of cores).
    #[arg(long, value_name = "N")]
    pub threads: Option<usize>,
    /// Parse every file, even those without the transforms' trigger literals (for benchmarks).
    #[arg(long, hide = true)]
    pub no_prefilter: bool,
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
}

#[derive(Debug, Error)]
pub enum ConfigError {
    #[error("unknown transform `{0}` (see `tame transforms`)")]
    UnknownTransform(String),
    #[error("`--set {0}`: expected ID.OPTION=VALUE")]
    BadSet(String),
    #[error("transform `{transform}` has no option `{option}` (see `tame explain {transform}`)")]
    UnknownOption { transform: String, option: String },
    #[error("option `{transform}.{option}`: expected {expected}, got `{value}`")]
    BadValue { transform: String, option: String, value: String, expected: &'static str },
    #[error("no transform is selected")]
    NothingSelected,
    #[error(transparent)]
    Option(#[from] transforms::OptionError),
}

/// The validated selection of transforms and their option values.
pub struct Selection {
    pub specs: Vec<&'static Spec>,
    pub options: Vec<OptionValues>,
}

impl Common {
    pub fn selection(&self) -> Result<Selection, ConfigError> {
        for id in self.only.iter().chain(&self.skip) {
            if transforms::spec(id).is_none() {
                return Err(ConfigError::UnknownTransform(id.clone()));
            }
        }
        let specs: Vec<&'static Spec> = transforms::specs()
            .iter()
            .filter(|s| self.only.is_empty() || self.only.contains(&s.id))
            .filter(|s| !self.skip.contains(&s.id))
            .collect();
        if specs.is_empty() {
            return Err(ConfigError::NothingSelected);
        }
        let mut options: Vec<OptionValues> = specs.iter().map(|s| s.defaults()).collect();
        let mut sets: Vec<(String, String, String)> = Vec::new();
        let flags = [
            ("bounded-retry", "max_attempts", &self.max_attempts),
            ("bounded-retry", "deadline", &self.deadline),
            ("bounded-retry", "on_exhaust", &self.on_exhaust),
            ("bounded-retry", "exception", &self.exception),
            ("driver-load-error", "exception", &self.driver_exception),
        ];
        for (id, option, value) in flags {
            if let Some(v) = value {
                sets.push((id.into(), option.into(), v.clone()));
            }
        }
        for s in &self.set {
            let (key, value) = s.split_once('=').ok_or_else(|| ConfigError::BadSet(s.clone()))?;
            let (id, option) = key.split_once('.').ok_or_else(|| ConfigError::BadSet(s.clone()))?;
            sets.push((id.into(), option.into(), value.into()));
        }
        for (id, option, value) in sets {
            let spec = transforms::spec(&id).ok_or_else(|| ConfigError::UnknownTransform(id.clone()))?;
            let o = spec
                .option(&option)
                .ok_or_else(|| ConfigError::UnknownOption { transform: id.clone(), option: option.clone() })?;
            let parsed = o.kind.parse_cli(&value).ok_or_else(|| ConfigError::BadValue {
                transform: id.clone(),
                option: option.clone(),
                value: value.clone(),
                expected: o.kind.name(),
            })?;
            if let Some(i) = specs.iter().position(|s| s.id == id) {
                options[i].insert(option, parsed);
            }
        }
        // Build once here so option errors surface before any file is read.
        for (spec, opts) in specs.iter().zip(&options) {
            transforms::build(&spec.id, opts).expect("selected ids exist")?;
        }
        Ok(Selection { specs, options })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
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
    fn selection_errors() {
        let cli = Cli::try_parse_from(["tame", "check", "--only", "nope"]).unwrap();
        let Command::Check(args) = cli.command else { unreachable!() };
        assert_eq!(
            args.common.selection().err().unwrap().to_string(),
            "unknown transform `nope` (see `tame transforms`)"
        );
        let cli = Cli::try_parse_from(["tame", "check", "--max-attempts", "x"]).unwrap();
        let Command::Check(args) = cli.command else { unreachable!() };
        assert_eq!(
            args.common.selection().err().unwrap().to_string(),
            "option `bounded-retry.max_attempts`: expected integer, got `x`"
        );
    }
}
