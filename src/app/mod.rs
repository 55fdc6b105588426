//! The application around the pipeline: the command line and its
//! configuration, the walk over files, the parallel runner, a module read
//! from stdin, interactive review and exit codes.

pub mod cli;
pub(crate) mod config;
pub mod exit_code;
pub(crate) mod interactive;
pub(crate) mod line_length;
pub(crate) mod progress;
pub(crate) mod runner;
pub(crate) mod stdin;
pub(crate) mod walk;
